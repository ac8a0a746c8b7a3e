/**
 * What is compared: our stack over WebRTC (per Node backend) and over WebSocket, and bare
 * data channels (per backend) as the floor. Platform-free so the page bundle can import it.
 */
export type TransportSpec =
  | { kind: "webrtc"; backend: string }
  | { kind: "websocket" }
  | { kind: "bare"; backend: string }
  /** Diagnostic: our FramedChannel on the backend's port, without Session and protocol. */
  | { kind: "framed"; backend: string };

/** Short stable label used in tables and JSON: `webrtc`, `webrtc[node-datachannel]`, `bare-werift`, `websocket`. */
export function variantLabel(spec: TransportSpec): string {
  switch (spec.kind) {
    case "webrtc":
      return spec.backend === "werift" ? "webrtc" : `webrtc[${spec.backend}]`;
    case "websocket":
      return "websocket";
    case "bare":
      return `bare-${spec.backend}`;
    case "framed":
      return `framed-${spec.backend}`;
  }
}

/** True for our whole stack (Session + connection), false for a bare or framed-only channel. */
export function isOurs(spec: TransportSpec): boolean {
  return spec.kind === "webrtc" || spec.kind === "websocket";
}

/** Variants whose peers are our bare server and bare frontends (no Session). */
export function isBareServer(spec: TransportSpec): spec is { kind: "bare" | "framed"; backend: string } {
  return spec.kind === "bare" || spec.kind === "framed";
}
