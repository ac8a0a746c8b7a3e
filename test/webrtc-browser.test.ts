/**
 * Node server ↔ Chromium page (native RTCPeerConnection) over WebRTCConnection, through the
 * real signaling server on 127.0.0.1, once per server backend (werift, node-datachannel):
 * the shared browser suite (test/helpers/browser-suite.ts), and a crashed renderer, which
 * only Chromium's DevTools protocol can cause.
 */
import { describe, test, before, after } from "node:test";
import { serve } from "../src/index.js";
import { WebRTCConnection } from "../src/webrtc/index.js";
import { echoApp } from "./helpers/echo-app.js";
import { chromiumSuiteBrowser, launchBrowser, type TestBrowser } from "./helpers/browser.js";
import { webrtcBrowserSuite } from "./helpers/browser-suite.js";
import { waitUntil, within } from "./helpers/payload.js";
import { openPage } from "./helpers/page.js";
import { backendCases } from "./helpers/backends.js";

await webrtcBrowserSuite({ browser: "Chromium", launch: chromiumSuiteBrowser, host: "127.0.0.1", updates: 10_000 });

for (const { backend, skip } of await backendCases()) {
  describe(`Chromium over WebRTC, server on ${backend}: a crashed page`, { timeout: 60_000, skip }, () => {
    let browser: TestBrowser;
    before(async () => {
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
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
