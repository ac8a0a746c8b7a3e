/**
 * How a Node frontend joins a session, per connection type (the bootstrap's
 * `connection.type`). `websocket` and `webrtc` are built in; the WebRTC one loads its stack
 * (werift, or node-datachannel) only when a WebRTC bootstrap arrives.
 */
import type { FrontendConnector } from "./types.js";

const connectors = new Map<string, FrontendConnector>([
  ["websocket", async (context) => (await import("./websocket-connector.js")).connectWebSocketFrontend(context)],
  ["webrtc", async (context) => (await import("./webrtc-connector.js")).connectWebRTCNodeFrontend(context)],
]);

/** Teach Node frontends a connection type (an outside connection's Node side); replaces a connector of the same type. */
export function registerFrontendConnector(type: string, connector: FrontendConnector): void {
  connectors.set(type, connector);
}

/** The connector for `type`, if one is known. */
export function frontendConnector(type: string): FrontendConnector | undefined {
  return connectors.get(type);
}

/** The connection types Node frontends know. */
export function knownConnectionTypes(): string[] {
  return [...connectors.keys()];
}
