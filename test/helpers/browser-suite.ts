/**
 * The WebRTC browser suite, written once and run in every browser: Chromium (Playwright)
 * and Firefox ESR (puppeteer over WebDriver BiDi). A Node server on each backend, compression
 * off and on: the page runs over the data channel, echoes of every size and value type are
 * byte-exact, updates arrive in order both ways, and a close from either side (the page's
 * own close, a closed tab, the server's close) ends the other side at once.
 */
import { describe, test, before, after, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { serve, type BonitoServer } from "../../src/index.js";
import { WebRTCConnection } from "../../src/webrtc/index.js";
import { echoApp, type EchoSession } from "./echo-app.js";
import { backendCases } from "./backends.js";
import { pageEcho, type EvaluatingPage } from "./page.js";
import { within, MiB, assertCountingSequence } from "./payload.js";

/** A page of any of the browsers the suite runs in. */
export interface SuitePage extends EvaluatingPage {
  goto(url: string): Promise<void>;
  /** Close the tab as a person would: the page's unload handlers run. */
  close(): Promise<void>;
}

/** A browser the suite runs in. */
export interface SuiteBrowser {
  newPage(): Promise<SuitePage>;
  close(): Promise<void>;
}

export interface BrowserSuiteOptions {
  /** Shown in the test names. */
  browser: string;
  launch(): Promise<SuiteBrowser>;
  /** The address to serve on, one this browser can pair a WebRTC candidate with. */
  host: string;
  /** How many updates the in-order test sends each way (at most 1,000 with compression). */
  updates: number;
}

/** Open `url` and wait until the session is connected end to end. */
export async function openSuitePage(browser: SuiteBrowser, url: string): Promise<SuitePage> {
  const page = await browser.newPage();
  await page.goto(url);
  await page.evaluate(() => (window as any).Bonito.wait_for_connection(), undefined);
  return page;
}

/** Echo sizes: every fragment and batch boundary without compression, a few with it. */
const SIZES = { off: [0, 1, 65_535, 65_536, 65_537, 262_145, MiB, 32 * MiB], on: [0, 65_537, MiB] };

/** Registers the suite's tests (call at the top level of a test file). */
export async function webrtcBrowserSuite(options: BrowserSuiteOptions): Promise<void> {
  for (const { backend, skip } of await backendCases()) {
    describe(`${options.browser} over WebRTC, server on ${backend}`, { timeout: 300_000, skip }, () => {
      let browser: SuiteBrowser;
      before(async () => {
        browser = await options.launch();
      });
      after(async () => {
        await browser?.close();
      });

      /** A served echo app and a page connected to it; both closed by the caller. */
      const open = async (compression = false) => {
        const echo = echoApp();
        const server = await serve(echo.app, { host: options.host, compression, connection: () => new WebRTCConnection({ backend }) });
        const page = await openSuitePage(browser, server.url).catch(async (error: unknown) => {
          await server.close();
          throw error;
        });
        return { echo, server, page, entry: echo.sessions.at(-1)! };
      };

      for (const compression of [false, true]) {
        describe(`compression ${compression ? "on" : "off"}`, () => {
          let server: BonitoServer;
          let page: SuitePage;
          let entry: EchoSession;
          before(async () => {
            ({ server, page, entry } = await open(compression));
          });
          after(async () => {
            await page?.close();
            await server?.close();
          });

          test("the page runs over the data channel, connected once the session is ready", async () => {
            assert.equal(await page.evaluate(() => (window as any).BonitoWebRTC.current !== undefined, undefined), true);
            assert.equal(await page.evaluate(() => (window as any).Bonito.connection_status(), undefined), "open");
            assert.ok(entry.session.connection instanceof WebRTCConnection);
            assert.equal(entry.session.connection.backendName, backend);
            assert.equal(entry.session.isReady(), true);
          });

          for (const size of compression ? SIZES.on : SIZES.off) {
            test(`echo of a ${size}-byte Uint8Array from the page is byte-exact`, async () => {
              assert.deepEqual(await pageEcho(page, size), { length: size, equal: true, type: "Uint8Array" });
            });
          }

          test("echo of every value type keeps type and value", async () => {
            const mismatches = await page.evaluate(echoEveryType, undefined);
            assert.deepEqual(mismatches, []);
          });

          // With compression every update is deflated and inflated on its own: fewer of them.
          const updates = compression ? Math.min(options.updates, 1000) : options.updates;
          test(`${updates} updates from the page arrive in order, and their echoes too`, async () => {
            entry.received.length = 0;
            const echoed = await page.evaluate(sendCountingUpdates, updates).catch(async (error: Error) => {
              // Say which way it stopped: the server's side of the count, and the session's state.
              const ended = entry.session.status === "closed" ? `, closed: ${(await entry.session.closed).reason}` : "";
              throw new Error(`${error.message}; the server received ${entry.received.length}, session ${entry.session.status}${ended}`);
            });
            assertCountingSequence(entry.received, updates, "updates received by the server");
            assertCountingSequence(echoed, updates, "echoes received by the page");
          });
        });
      }

      test("closing from the page ends the server session within a second", async () => {
        const { server, page, entry } = await open();
        try {
          await page.evaluate(() => (window as any).BonitoWebRTC.current.close(), undefined);
          const info = await within(entry.session.closed, 1000, "server session closes");
          assert.match(info.reason, /closed by the frontend/);
        } finally {
          await page.close();
          await server.close();
        }
      });

      /** The session ended because its page went away, and (werift) it heard the page's CLOSE. */
      const assertPageGone = (reason: string, t: TestContext) => {
        if (backend === "werift") assert.match(reason, /the page was closed/);
        else {
          // node-datachannel drops a message that reaches it in the same instant as the
          // channel's close (see its backend.ts): then the close itself ends the session.
          assert.match(reason, /the page was closed|data channel closed without a close message/);
          t.diagnostic(reason);
        }
      };

      test("closing the tab ends the server session within a second (the page sends CLOSE as it goes)", async (t) => {
        const { server, page, entry } = await open();
        try {
          await page.close();
          assertPageGone((await within(entry.session.closed, 1000, "server session closes")).reason, t);
        } finally {
          await server.close();
        }
      });

      test("navigating away ends the server session within a second", async (t) => {
        const { server, page, entry } = await open();
        try {
          await page.goto("about:blank");
          assertPageGone((await within(entry.session.closed, 1000, "server session closes")).reason, t);
        } finally {
          await page.close();
          await server.close();
        }
      });

      test("closing the session on the server closes the page's connection within a second, with the reason", async () => {
        const { server, page, entry } = await open();
        try {
          // The page listens first (an ordering marker), then the server closes.
          await page.evaluate(() => {
            const w = window as any;
            w.closedWith = new Promise<string>((resolve) =>
              w.Bonito.on_status_change((status: string, reason: string) => status === "closed" && resolve(reason)),
            );
          }, undefined);
          await entry.session.close("closed by the server");
          const reason = page.evaluate(() => (window as any).closedWith as Promise<string>, undefined);
          assert.equal(await within(reason, 1000, "the page sees the close"), "closed by the server");
        } finally {
          await page.close();
          await server.close();
        }
      });
    });
  }
}

/** In the page: echo each value through input → output and list those that came back different. */
async function echoEveryType(): Promise<string[]> {
  const Bonito = (window as any).Bonito;
  const values: unknown[] = [
    42,
    -70_000,
    3.25,
    "grüße, 世界",
    true,
    null,
    [1, "two", 2.5, false],
    { a: 1, b: [2, 3], c: { d: "e" } },
    new Int8Array([-128, 0, 127]),
    new Uint8Array([0, 255]),
    new Int16Array([-32768, 32767]),
    new Uint16Array([0, 65535]),
    new Int32Array([-2147483648, 2147483647]),
    new Uint32Array([0, 4294967295]),
    new Float32Array([1.5, -2, 0.25]),
    new Float64Array([Math.PI, -1e300]),
  ];
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b) && Object.prototype.toString.call(a) === Object.prototype.toString.call(b);
  const describe = (v: unknown) => `${Object.prototype.toString.call(v)} ${JSON.stringify(v)}`;
  const mismatches: string[] = [];
  for (const value of values) {
    const echoed = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no echo of ${describe(value)} within 20 s`)), 20_000);
      const off = Bonito.observable("output").on((v: unknown) => {
        clearTimeout(timer);
        off();
        resolve(v);
      });
      Bonito.observable("input").set(value);
    });
    const equal = ArrayBuffer.isView(value)
      ? (value as object).constructor === (echoed as object)?.constructor && same(Array.from(value as unknown as ArrayLike<number>), Array.from(echoed as ArrayLike<number>))
      : same(value, echoed);
    if (!equal) mismatches.push(`${describe(value)} came back as ${describe(echoed)}`);
  }
  return mismatches;
}

/** In the page: set `input` to 0..count−1 in one go and collect the echoes. */
async function sendCountingUpdates(count: number): Promise<number[]> {
  const Bonito = (window as any).Bonito;
  const seen: number[] = [];
  const all = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${seen.length} of ${count} echoes within 120 s`)), 120_000);
    const off = Bonito.observable("output").on((v: number) => {
      seen.push(v);
      if (seen.length === count) {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  });
  for (let i = 0; i < count; i++) Bonito.observable("input").set(i);
  await all;
  return seen;
}
