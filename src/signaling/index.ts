/**
 * `bonito-webrtc/signaling`: the short-lived signaling server (Node), the client a frontend
 * joins with, and the protocol's error codes. The protocol itself is specified in this
 * folder's README.md.
 */
export {
  SignalingServer,
  type Room,
  type RoomEndReason,
  type RoomState,
  type SignalingServerOptions,
  type StandaloneSignalingOptions,
  type AttachedSignalingOptions,
  type RoutedSignalingOptions,
  type CommonSignalingOptions,
} from "./server.js";
export {
  connectSignaling,
  type ConnectSignalingOptions,
  type SignalingClient,
  type SignalingCloseInfo,
  type WebSocketConstructor,
  type WebSocketLike,
} from "./client.js";
export {
  SignalingError,
  ERROR_CLOSE_CODES,
  MAX_MESSAGE_BYTES,
  type ErrorCode,
  type SignalingClientErrorCode,
} from "./schema.js";
