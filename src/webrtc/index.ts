/**
 * `bonito-webrtc/webrtc`: the WebRTC data-channel connection. Register it with
 * `registerConnection(() => new WebRTCConnection(), { name: "webrtc" })`.
 */
export { WebRTCConnection, type WebRTCConnectionOptions } from "./connection.js";
export { NegotiationError, type NegotiationFailure } from "./negotiation.js";
export type { IceServer, IceTransportPolicy, WebRTCBootstrap } from "./options.js";
export { turnCredentials, DEFAULT_TURN_CREDENTIAL_TTL_SECONDS, type TurnCredentialOptions } from "./turn-credentials.js";
export { BACKEND_NAMES, type BackendName } from "./backends/index.js";
export { FramingError, type FramedChannelOptions, type CloseInfo } from "./channel/index.js";
export { SignalingServer, type SignalingServerOptions } from "../signaling/index.js";
