/**
 * Node server ↔ Chromium page (native RTCPeerConnection) over WebRTCConnection, through
 * the real signaling server on 127.0.0.1; once per server backend (werift, node-datachannel).
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { serve, type BonitoServer } from "../src/index.js";
import { WebRTCConnection } from "../src/webrtc/index.js";
import { echoApp } from "./helpers/echo-app.js";
import { launchBrowser, type TestBrowser } from "./helpers/browser.js";
import { waitUntil, within, MiB, assertCountingSequence } from "./helpers/payload.js";
import { pageEcho, openPage } from "./helpers/page.js";
import { backendCases } from "./helpers/backends.js";

for (const { backend, skip } of await backendCases()) {
  describe(`Chromium over WebRTC, server on ${backend}`, { timeout: 300_000, skip }, () => {
    let browser: TestBrowser;
    before(async () => {
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
    });

    for (const compression of [false, true]) {
      describe(`compression ${compression ? "on" : "off"}`, () => {
        let server: BonitoServer;
        let page: Page;
        const echo = echoApp();
        before(async () => {
          server = await serve(echo.app, { compression, connection: () => new WebRTCConnection({ backend }) });
          page = await openPage(browser, server.url);
        });
        after(async () => {
          await page?.close();
          await server?.close();
        });

        test("the page runs over the data channel", async () => {
          assert.equal(await page.evaluate(() => (window as any).BonitoWebRTC.current !== undefined), true);
          const connection = echo.sessions.at(-1)!.session.connection;
          assert.ok(connection instanceof WebRTCConnection);
          assert.equal(connection.backendName, backend);
        });

        const sizes = compression ? [0, 65_537, MiB] : [0, 1, 65_535, 65_536, 65_537, 262_145, MiB, 32 * MiB];
        for (const size of sizes) {
          test(`echo of a ${size}-byte Uint8Array from the page is byte-exact`, async () => {
            const result = await pageEcho(page, size);
            assert.deepEqual(result, { length: size, equal: true, type: "Uint8Array" });
          });
        }

        if (!compression) {
          test("10,000 updates from the page arrive in order, and their echoes too", async () => {
            const entry = echo.sessions.at(-1)!;
            entry.received.length = 0;
            const echoed = await page.evaluate(async () => {
              const Bonito = (window as any).Bonito;
              const seen: number[] = [];
              const all = new Promise<void>((resolve) => {
                const off = Bonito.observable("output").on((v: number) => {
                  seen.push(v);
                  if (seen.length === 10_000) {
                    off();
                    resolve();
                  }
                });
              });
              for (let i = 0; i < 10_000; i++) Bonito.observable("input").set(i);
              await all;
              return seen;
            });
            assertCountingSequence(entry.received, 10_000, "updates received by the server");
            assertCountingSequence(echoed, 10_000, "echoes received by the frontend");
          });
        }
      });
    }

    test("closing from the page ends the server session within a second", async () => {
      const echo = echoApp();
      const server = await serve(echo.app, { connection: () => new WebRTCConnection({ backend }) });
      const page = await openPage(browser, server.url);
      try {
        const session = echo.sessions.at(-1)!.session;
        await page.evaluate(() => (window as any).BonitoWebRTC.current.close());
        await within(session.closed, 1000, "server session closes");
      } finally {
        await page.close();
        await server.close();
      }
    });

    test("closing the session on the server closes the page's connection within a second", async () => {
      const echo = echoApp();
      const server = await serve(echo.app, { connection: () => new WebRTCConnection({ backend }) });
      const page = await openPage(browser, server.url);
      try {
        // werift's first packets to Chromium right after the channel opens are sometimes
        // retransmitted (its minimum RTO is 1 s); measure the close on a warmed-up session.
        assert.deepEqual(await pageEcho(page, 16), { length: 16, equal: true, type: "Uint8Array" });
        await echo.sessions.at(-1)!.session.close();
        await page.waitForFunction(() => (window as any).Bonito.connection_status() === "closed", null, { timeout: 1000 });
      } finally {
        await page.close();
        await server.close();
      }
    });

    test("a crashed page is detected by the heartbeat within 10 s and its session freed", async (t) => {
      const echo = echoApp();
      const server = await serve(echo.app, { connection: () => new WebRTCConnection({ backend }) });
      const page = await openPage(browser, server.url);
      try {
        const session = echo.sessions.at(-1)!.session;
        const cdp = await browser.context.newCDPSession(page);
        const crashedAt = Date.now();
        // Kill the renderer: the page gets no chance to close anything.
        void cdp.send("Page.crash").catch(() => {});
        const info = await within(session.closed, 10_000, "session closes within 10 s of the crash");
        t.diagnostic(`closed ${((Date.now() - crashedAt) / 1000).toFixed(1)} s after the crash: ${info.reason}`);
        await waitUntil(() => server.sessions.size === 0, 1000, "session freed");
      } finally {
        await page.close().catch(() => {});
        await server.close();
      }
    });
  });
}
