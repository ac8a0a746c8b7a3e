/**
 * Teaches `connectFrontend` the `webrtc` connection type: a Node frontend peer on werift
 * (or node-datachannel, with `transport: { backend: "node-datachannel" }`), running the
 * same negotiation and framing code as the browser.
 */
import WebSocket from "ws";
import { registerFrontendTransport } from "../client/transports.js";
import type { WebSocketConstructor } from "../../signaling/client.js";
import { connectWebRTCFrontend } from "./frontend.js";
import { checkBackendName, loadBackend, DEFAULT_BACKEND } from "./backends.js";
import type { WebRTCBootstrap } from "./options.js";

registerFrontendTransport("webrtc", async ({ bootstrap, bonito, timeoutMs, options }) => {
  const announced = bootstrap.connection as unknown as WebRTCBootstrap;
  // Before signaling: a stack that is unknown or not installed fails here, with its hint.
  const backend = await loadBackend(checkBackendName(options.backend ?? DEFAULT_BACKEND));
  const link = await connectWebRTCFrontend(
    {
      signalingUrl: announced.signalingUrl,
      token: announced.token,
      iceServers: announced.iceServers ?? [],
      timeoutMs: Math.min(timeoutMs, announced.timeoutMs ?? timeoutMs),
      channel: announced.channel ?? {},
      sessionId: bootstrap.sessionId,
      compression: bootstrap.compression,
    },
    bonito,
    { ...backend, WebSocket: WebSocket as unknown as WebSocketConstructor },
  );
  let closeReason: string | undefined;
  void link.closed.then((info) => (closeReason ??= info.reason));
  return {
    async close() {
      closeReason ??= "closed by the frontend";
      await link.close();
    },
    closeReason: () => closeReason,
  };
});
