/**
 * `bonito-webrtc/webrtc`: the WebRTC data-channel connection. Register it with
 * `registerConnection(() => new WebRTCConnection(), { name: "webrtc" })`.
 */
export { WebRTCConnection, type WebRTCConnectionOptions } from "./connection.js";
export { NegotiationError, type NegotiationFailure } from "./negotiation.js";
export type { IceServer, WebRTCBootstrap } from "./options.js";
export { BACKEND_NAMES, type BackendName } from "./backends/index.js";
export { FramingError, type FramedChannelOptions, type CloseInfo } from "./channel/index.js";
export { SignalingServer, type SignalingServerOptions } from "../signaling/index.js";
