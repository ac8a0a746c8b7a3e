/**
 * The Node frontend's side of the WebRTC connection: the same negotiation and framing code
 * as the page, on werift (or node-datachannel, with `webrtc: { backend: "node-datachannel" }`).
 * Loaded only when a WebRTC bootstrap arrives, so WebSocket-only users never load a stack.
 */
import type { WebSocketConstructor } from "../../signaling/client.js";
import { checkBackendName, loadBackend, DEFAULT_BACKEND } from "../../webrtc/backends/index.js";
import type { WebRTCBootstrap } from "../../webrtc/options.js";
import { joinWebRTCSession } from "../webrtc.js";
import type { ConnectorContext, FrontendLink } from "./types.js";
import { webSocketClass } from "./http.js";

export async function connectWebRTCNodeFrontend({ bootstrap, bonito, timeoutMs, options, logger }: ConnectorContext): Promise<FrontendLink> {
  const announced = bootstrap.connection as WebRTCBootstrap;
  // Before signaling: a stack that is unknown or not installed fails here, with its hint.
  const backend = await loadBackend(checkBackendName(options.webrtc?.backend ?? DEFAULT_BACKEND));
  const link = await joinWebRTCSession(
    {
      signalingUrl: announced.signalingUrl,
      token: announced.token,
      iceServers: announced.iceServers ?? [],
      ...(announced.iceTransportPolicy ? { iceTransportPolicy: announced.iceTransportPolicy } : {}),
      timeoutMs: Math.min(timeoutMs, announced.timeoutMs ?? timeoutMs),
      channel: announced.channel ?? {},
      answerSetup: announced.answerSetup,
      sessionId: bootstrap.sessionId,
      compression: bootstrap.compression,
      ...(announced.fallback ? { fallback: announced.fallback } : {}),
    },
    bonito,
    {
      ...backend,
      createPeerConnection: (iceServers, policy) => backend.createPeerConnection(iceServers, { logger, ...(policy ? { policy } : {}) }),
      WebSocket: webSocketClass(options.ca) as unknown as WebSocketConstructor,
    },
  );
  if (link.fallback) logger.warn(`bonito: WebRTC could not connect (${link.fallback.reason}); continuing over the WebSocket`);
  let closeReason: string | undefined;
  void link.closed.then((info) => (closeReason ??= info.reason));
  return {
    transport: () => link.transport,
    async close() {
      closeReason ??= "closed by the frontend";
      await link.close();
    },
    closeReason: () => closeReason,
  };
}
