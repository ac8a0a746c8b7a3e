/**
 * Connected means connected: a frontend reports `open` (the page's status, `Bonito.
 * wait_for_connection()`, `on_status_change`, `connectFrontend`) only once the server's
 * session is ready, which it learns from the server's first frame after its JSDoneLoading
 * (the server always sends one when the session becomes ready). Until then it says
 * `connecting`; if the connection ends first, it says why.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { serve } from "../src/index.js";
import { WebRTCConnection } from "../src/webrtc/index.js";
import { WebSocketConnection } from "../src/websocket/connection.js";
import { BonitoRuntime, connectFrontend, fetchBootstrap, type ConnectionStatus } from "../src/frontend/node/index.js";
import { connectWebRTCFrontend } from "../src/frontend/webrtc.js";
import { deliverFrame } from "../src/frontend/contract.js";
import { loadBackend } from "../src/webrtc/backends/index.js";
import type { WebRTCBootstrap } from "../src/webrtc/options.js";
import type { WebSocketConstructor } from "../src/signaling/client.js";
import { decodeClientFrame, encodeServerFrame, MessageType } from "../src/protocol/index.js";
import { echoApp } from "./helpers/echo-app.js";
import { backendCases } from "./helpers/backends.js";
import { within } from "./helpers/payload.js";

describe("the runtime's connection status", () => {
  test("stays connecting when the transport opens, and turns open with the server's first frame", async () => {
    const runtime = new BonitoRuntime();
    const statuses: ConnectionStatus[] = [];
    runtime.on_status_change((status) => statuses.push(status));
    runtime.init_session("session-1", null);
    const sent: Uint8Array[] = [];
    runtime.on_connection_open((bytes) => sent.push(bytes), false, false);
    assert.equal(runtime.connection_status(), "connecting");
    assert.equal(decodeClientFrame(sent[0]!, false).msg_type, MessageType.JSDoneLoading, "the handshake went out");
    runtime.observable("x").set(1);
    assert.equal(sent.length, 2, "messages go out while the session gets ready");
    let connected = false;
    const waiting = runtime.wait_for_connection().then(() => (connected = true));
    await Promise.resolve();
    assert.equal(connected, false);
    deliverFrame(runtime, encodeServerFrame("session-1", { msg_type: MessageType.FusedMessage, payload: [] }, false), false);
    await waiting;
    assert.equal(runtime.connection_status(), "open");
    assert.deepEqual(statuses, ["open"]);
    runtime.dispose();
  });

  test("a close before the session is ready rejects wait_for_connection and tells listeners why", async () => {
    const runtime = new BonitoRuntime();
    const told: Array<[ConnectionStatus, string | undefined]> = [];
    runtime.on_status_change((status, reason) => told.push([status, reason]));
    runtime.init_session("session-2", null);
    runtime.on_connection_open(() => true, false, false);
    const waiting = runtime.wait_for_connection();
    runtime.on_connection_close("the frontend did not connect in time");
    await assert.rejects(waiting, /connection closed: the frontend did not connect in time/);
    await assert.rejects(runtime.wait_for_connection(), /did not connect in time/);
    assert.deepEqual(told, [["closed", "the frontend did not connect in time"]]);
    assert.equal(runtime.close_reason(), "the frontend did not connect in time");
  });
});

const cases = await backendCases();
const transports: Array<{ name: string; make: () => WebRTCConnection | WebSocketConnection; backend?: string }> = [
  { name: "WebSocket", make: () => new WebSocketConnection() },
  ...cases.filter((c) => !c.skip).map((c) => ({ name: `WebRTC [${c.backend}]`, make: () => new WebRTCConnection({ backend: c.backend }), backend: c.backend })),
];

for (const { name, make, backend } of transports) {
  describe(`a Node frontend over ${name}`, { timeout: 60_000 }, () => {
    test("connectFrontend resolves only once the server's session is ready", async () => {
      const echo = echoApp();
      const server = await serve(echo.app, { connection: make });
      try {
        const frontend = await connectFrontend(server.url, backend ? { webrtc: { backend: backend as never } } : {});
        assert.equal(frontend.status(), "open");
        assert.equal(server.sessions.get(frontend.sessionId)?.isReady(), true, "the server session was ready before the frontend said open");
        await frontend.close();
      } finally {
        await server.close();
      }
    });
  });
}

for (const { backend, skip } of cases) {
  test(`WebRTC [${backend}]: a frontend whose session never becomes ready stays connecting, then says why it closed`, { timeout: 30_000, skip }, async () => {
    const echo = echoApp();
    const server = await serve(echo.app, { connection: () => new WebRTCConnection({ backend }), connectTimeoutMs: 1000 });
    try {
      const bootstrap = await fetchBootstrap(server.url);
      const announced = bootstrap.connection as WebRTCBootstrap;
      // No init_session: this runtime never sends JSDoneLoading, so the session never gets ready.
      const runtime = new BonitoRuntime();
      const stack = await loadBackend(backend);
      const link = await connectWebRTCFrontend({ ...announced, sessionId: bootstrap.sessionId, compression: bootstrap.compression }, runtime, {
        ...stack,
        createPeerConnection: (iceServers) => stack.createPeerConnection(iceServers),
        WebSocket: WebSocket as unknown as WebSocketConstructor,
      });
      assert.equal(runtime.connection_status(), "connecting", "the data channel is open, but the session is not ready");
      await assert.rejects(within(runtime.wait_for_connection(), 10_000, "the server gives up"), /connection closed: the frontend did not connect in time/);
      await link.closed;
    } finally {
      await server.close();
    }
  });
}
