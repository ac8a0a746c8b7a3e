/**
 * When the data channel cannot be set up, every side says why: `connectFrontend` rejects, the
 * page reports the error, and the server frees the session.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, type BonitoServer } from "../src/index.js";
import { WebRTCConnection } from "../src/webrtc/index.js";
import { connectFrontend } from "../src/frontend/node/index.js";
import { echoApp } from "./helpers/echo-app.js";
import { launchBrowser, type TestBrowser } from "./helpers/browser.js";
import { waitUntil } from "./helpers/payload.js";

// Relay-only with no relay configured: neither peer gathers a candidate, so no pair can ever
// connect and the negotiation runs out of time however fast the machine is.
const NEGOTIATION_TIMEOUT_MS = 2000;
/** What the failure must name: which side gives up first decides which of these it is. */
const LIKELY_CAUSE = /no route between the peers|sent no ICE candidates|no local ICE candidates/;

describe("WebRTC setup failures", { timeout: 90_000 }, () => {
  let server: BonitoServer;
  before(async () => {
    server = await serve(echoApp().app, {
      // Without the WebSocket fallback, so that the failure reaches every side (fallback.test.ts covers the other way).
      connection: () => new WebRTCConnection({ iceTransportPolicy: "relay", negotiationTimeoutMs: NEGOTIATION_TIMEOUT_MS, fallback: false }),
      // The failures are the point of this suite: keep their log lines out of the output.
      logger: { error() {}, warn() {} },
    });
  });
  after(async () => {
    await server?.close();
  });

  test("connectFrontend rejects with the stage it reached, and the server frees the session", async () => {
    await assert.rejects(connectFrontend(server.url), (error: Error) => {
      assert.equal(error.name, "NegotiationError");
      assert.match(error.message, LIKELY_CAUSE);
      return true;
    });
    await waitUntil(() => server.sessions.size === 0, 5000, "the server frees the session");
  });

  test("the page reports the failure with its likely cause", async () => {
    const browser: TestBrowser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(server.url);
      const message = await page.evaluate(
        () =>
          new Promise<string>((resolve) => {
            const W = window as any;
            if (W.BonitoWebRTC.lastError) return resolve(W.BonitoWebRTC.lastError.message);
            window.addEventListener("bonito:connection-error", (event: any) => resolve(event.detail.message));
          }),
      );
      assert.match(message, LIKELY_CAUSE);
      await page.waitForFunction(() => (window as any).Bonito.connection_status() === "closed");
      await waitUntil(() => server.sessions.size === 0, 5000, "the server frees the session");
    } finally {
      await browser.close();
    }
  });
});
