/**
 * Bad input at the WebRTC connection's door, through the real server: wrong, reused and
 * expired tokens, malformed and oversized signaling messages, a frontend that never
 * answers. Each is refused with an error, and the next frontend still gets in.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { serve, type BonitoServer } from "../src/index.js";
import { WebRTCConnection, SignalingServer, type WebRTCBootstrap } from "../src/webrtc/index.js";
import { connectFrontend, connectWithBootstrap, fetchBootstrap, type SessionBootstrap } from "../src/frontend/node/index.js";
import { connectSignaling, type WebSocketConstructor } from "../src/signaling/index.js";
import { echoApp } from "./helpers/echo-app.js";
import { nextValue, waitUntil, within } from "./helpers/payload.js";

/** The next frontend still gets a working session. */
async function assertServerStillServes(server: BonitoServer): Promise<void> {
  const frontend = await connectFrontend(server.url);
  try {
    const arrived = nextValue(frontend.observable("output"));
    await frontend.observable("input").set("next one in");
    assert.equal(await arrived, "next one in");
  } finally {
    await frontend.close();
  }
}

/** Send `payload` raw on the signaling socket of `bootstrap`; resolves with the server's error message and close code. */
async function rawSignaling(bootstrap: SessionBootstrap, payload: string): Promise<{ error: { code: string; message: string }; closeCode: number }> {
  const socket = new WebSocket((bootstrap.connection as WebRTCBootstrap).signalingUrl);
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  const error = new Promise<{ code: string; message: string }>((resolve) =>
    socket.on("message", (data) => {
      const message = JSON.parse(String(data));
      if (message.type === "error") resolve(message);
    }),
  );
  const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
  socket.send(payload);
  return within(Promise.all([error, closed]).then(([e, c]) => ({ error: e, closeCode: c })), 5000, "server refuses");
}

describe("WebRTC refusals", { timeout: 120_000 }, () => {
  let server: BonitoServer;
  before(async () => {
    // Refusals are expected here: keep their log lines out of the test output.
    server = await serve(echoApp().app, { connection: () => new WebRTCConnection(), logger: { error() {}, warn() {} } });
  });
  after(async () => {
    await server?.close();
  });

  test("a wrong token is refused with bad-token", async () => {
    const bootstrap = await fetchBootstrap(server.url);
    const forged = { ...bootstrap, connection: { ...bootstrap.connection, token: "A".repeat(43) } };
    await assert.rejects(connectWithBootstrap(forged), (error: Error & { code?: string }) => {
      assert.equal(error.code, "bad-token");
      return true;
    });
    await assertServerStillServes(server);
  });

  test("a token is single use", async () => {
    const bootstrap = await fetchBootstrap(server.url);
    const first = await connectWithBootstrap(bootstrap);
    try {
      await assert.rejects(connectWithBootstrap(bootstrap), (error: Error & { code?: string }) => {
        assert.match(String(error.code), /token-used|bad-token|unknown-session|room-closed/);
        return true;
      });
      // The first frontend is unharmed.
      const arrived = nextValue(first.observable("output"));
      await first.observable("input").set(1);
      assert.equal(await arrived, 1);
    } finally {
      await first.close();
    }
    await assertServerStillServes(server);
  });

  test("malformed JSON is refused with bad-json and a close", async () => {
    const bootstrap = await fetchBootstrap(server.url);
    const { error, closeCode } = await rawSignaling(bootstrap, "{ not json");
    assert.equal(error.code, "bad-json");
    assert.equal(closeCode, 1008);
    await assertServerStillServes(server);
  });

  test("an oversized signaling message is refused with too-large", async () => {
    const bootstrap = await fetchBootstrap(server.url);
    const huge = JSON.stringify({ type: "join", sessionId: bootstrap.sessionId, token: "x".repeat(70 * 1024) });
    const { error, closeCode } = await rawSignaling(bootstrap, huge);
    assert.equal(error.code, "too-large");
    assert.equal(closeCode, 1009);
    await assertServerStillServes(server);
  });

  test("an expired token is refused and its session freed", async () => {
    const signaling = new SignalingServer({ mode: "standalone", tokenTtlMs: 300 });
    const shortLived = await serve(echoApp().app, { connection: () => new WebRTCConnection({ signaling, fallback: false }) });
    try {
      const bootstrap = await fetchBootstrap(shortLived.url);
      await waitUntil(() => shortLived.sessions.size === 0, 3000, "the unclaimed session is freed");
      await assert.rejects(connectWithBootstrap(bootstrap), (error: Error & { code?: string }) => {
        assert.match(String(error.code), /token-expired|unknown-session|connect-failed|closed/);
        return true;
      });
      await assertServerStillServes(shortLived);
    } finally {
      await shortLived.close();
      await signaling.close();
    }
  });

  test("a frontend that never answers fails the negotiation with a reason, and the session is freed", async () => {
    const slow = await serve(echoApp().app, { connection: () => new WebRTCConnection({ negotiationTimeoutMs: 1500, fallback: false }) });
    try {
      const bootstrap = await fetchBootstrap(slow.url);
      const session = slow.sessions.get(bootstrap.sessionId)!;
      const client = await connectSignaling((bootstrap.connection as WebRTCBootstrap).signalingUrl, {
        sessionId: bootstrap.sessionId,
        token: (bootstrap.connection as WebRTCBootstrap).token,
        WebSocket: WebSocket as unknown as WebSocketConstructor,
      });
      const info = await within(session.closed, 5000, "session closes after the negotiation timeout");
      assert.match(info.reason, /WebRTC connection failed: .*answer/i);
      assert.ok(info.error);
      assert.equal(slow.sessions.size, 0);
      client.close();
    } finally {
      await slow.close();
    }
  });
});
