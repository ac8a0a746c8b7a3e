/**
 * Our page in Chromium, laid out as Bonito v5 lays out its own, over WebSocket and WebRTC with
 * compression on and off: it loads with no frontend error report, its scripts are modules,
 * and sub-sessions go through their whole life in the DOM (shown by UpdateSession, shown
 * again on GetSessionDOM, closed when their content leaves the page).
 * `npm run check:real-bonito` runs the same page under Bonito's own runtime.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { serve, WebSocketConnection, type BonitoServer, type FrontendReport, type Session } from "../src/index.js";
import { WebRTCConnection } from "../src/webrtc/index.js";
import { launchBrowser, type TestBrowser } from "./helpers/browser.js";
import { within } from "./helpers/payload.js";

/** Resolves the next time `session` becomes ready (its frontend reported it loaded). */
function nextReady(session: Session, what = "ready"): Promise<void> {
  return within(
    new Promise<void>((resolve) => {
      const off = session.onReady(() => {
        off();
        resolve();
      });
    }),
    20_000,
    `session ${session.id} ${what}`,
  );
}

describe("our page as Bonito lays it out, in Chromium", { timeout: 240_000 }, () => {
  let browser: TestBrowser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  for (const transport of ["websocket", "webrtc"] as const) {
    for (const compression of [false, true]) {
      describe(`${transport}, compression ${compression ? "on" : "off"}`, () => {
        let server: BonitoServer;
        let page: Page;
        let root: Session;
        const reports: FrontendReport[] = [];
        const pageErrors: string[] = [];
        let rootReady: Promise<void>;

        before(async () => {
          server = await serve(
            (session) => {
              root = session;
              rootReady = nextReady(session);
              session.onFrontendReport((report) => reports.push(report));
              session.observable(-0, "minus-zero");
              void session.evaljs("document.body.dataset.init = 'ran';");
              return `<main><div data-jscall-id="slot"></div></main>`;
            },
            { compression, connection: () => (transport === "webrtc" ? new WebRTCConnection({ iceServers: [] }) : new WebSocketConnection()) },
          );
          page = await browser.newPage();
          page.on("pageerror", (error) => pageErrors.push(error.message));
          page.on("console", (message) => {
            if (message.type() === "error") pageErrors.push(message.text());
          });
          await page.goto(server.url);
          await rootReady;
        });
        after(async () => {
          await page?.close();
          await server?.close();
        });

        test("the page loads with no error report, its scripts are module scripts, and the init messages ran", async () => {
          assert.equal(root.status, "open");
          const layout = await page.evaluate(() => ({
            classic: document.querySelectorAll("script:not([type=module])").length,
            modules: document.querySelectorAll("script[type=module]").length,
            init: document.body.dataset.init,
            minusZero: Object.is((window as any).Bonito.lookup_global_object("minus-zero").value, -0),
          }));
          assert.deepEqual(layout, { classic: 0, modules: 4, init: "ran", minusZero: true });
          assert.deepEqual(reports, []);
          assert.deepEqual(pageErrors, []);
        });

        test("a sub-session is shown, shown again on GetSessionDOM, and closed when its content leaves the page", async () => {
          let runs = 0;
          const sub = await root.updateDom("slot", (s) => {
            runs++;
            s.observable(runs, "runs");
            return `<p id="sub-content">run ${runs}</p>`;
          });
          await nextReady(sub, "shown");
          assert.equal(await page.textContent("#sub-content"), "run 1");
          const wrapper = await page.evaluate((id) => document.getElementById(id)?.dataset.jscallId, sub.id);
          assert.equal(wrapper, "subsession-application-dom");

          // As Bonito's VS Code display does: the page asks for a sub-session's content.
          const shownAgain = nextReady(sub, "shown again");
          await page.evaluate((id) => {
            const target = document.createElement("div");
            target.dataset.jscallId = "again";
            document.querySelector("main")!.append(target);
            (window as any).Bonito.send_to_julia({ msg_type: "13", session: id, replace: "again" });
          }, sub.id);
          await shownAgain;
          await page.waitForFunction(() => document.querySelectorAll("#sub-content").length === 2 && document.body.textContent!.includes("run 2"));
          assert.equal(runs, 2);

          await page.evaluate(() => document.querySelectorAll("main > *").forEach((node) => node.remove()));
          const info = await within(sub.closed, 20_000, "sub-session closed from the page");
          assert.equal(info.reason, "closed by the frontend");
          assert.equal(root.status, "open");
          await page.waitForFunction(() => (window as any).Bonito.lookup_global_object("runs") === null);
          assert.deepEqual(reports, []);
          assert.deepEqual(pageErrors, []);
        });
      });
    }
  }
});
