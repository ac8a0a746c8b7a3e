/**
 * `bonito-webrtc`: Bonito's session model for Node. Serve an app (`serve`), share values
 * with the page (`Session`, `Observable`), and choose how bytes travel: the registry starts
 * with the WebSocket connection; register `WebRTCConnection` (from `bonito-webrtc/webrtc`)
 * or your own `FrontendConnection` to take over.
 */
export {
  FrontendConnection,
  type ConnectionBootstrap,
  type ConnectionHost,
  type BrowserAsset,
  type UpgradeHandler,
  type RequestHandler,
} from "./session/connection.js";
export {
  registerConnection,
  unregisterConnection,
  registeredConnections,
  forceConnection,
  defaultConnection,
  NoConnectionError,
  type ConnectionFactory,
} from "./server/registry.js";
export {
  Session,
  FRAME_DECODE_CHANNEL,
  type SessionStatus,
  type SessionCloseInfo,
  type SessionOptions,
  type SessionLimits,
  type FrontendReport,
} from "./session/session.js";
export { Observable, type Listener } from "./core/observable.js";
export { serve, type App, type ServeOptions, type ServerLimits, type BonitoServer } from "./server/serve.js";
export type { SessionBootstrap } from "./server/bootstrap.js";
export { WebSocketConnection, type WebSocketConnectionOptions, type WebSocketBootstrap } from "./websocket/connection.js";
export { BonitoError } from "./core/errors.js";
export type { Logger } from "./core/logger.js";
export { ProtocolError, MessageType, JSCode, NdArray, type BonitoMessage, type MessageTypeCode } from "./protocol/messages.js";
