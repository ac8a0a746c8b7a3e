/**
 * bonito-webrtc host layer: Bonito's session model for Node. The WebSocket connection is
 * registered first, so it is the fallback when no newer registration answers.
 */
import { registerConnection } from "./connection.js";
import { WebSocketConnection } from "./websocket/connection.js";

export {
  FrontendConnection,
  registerConnection,
  unregisterConnection,
  registeredConnections,
  forceConnection,
  defaultConnection,
  NoConnectionError,
  type ConnectionFactory,
  type ConnectionBootstrap,
  type ConnectionHost,
  type UpgradeHandler,
} from "./connection.js";
export { Session, type SessionStatus, type SessionCloseInfo, type SessionOptions, type FrontendReport } from "./session.js";
export { Observable, type Listener, type UpdateSender } from "./observable.js";
export { serve, type App, type ServeOptions, type BonitoServer, type SessionBootstrap } from "./server.js";
export { WebSocketConnection, type WebSocketConnectionOptions } from "./websocket/connection.js";
export * as protocol from "./protocol/index.js";

registerConnection(() => new WebSocketConnection(), { name: "websocket" });
