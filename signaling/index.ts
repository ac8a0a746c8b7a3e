/**
 * The signaling package: server (Node), client (browser and Node) and the
 * shared message schema. Browser bundles should import client.js and
 * schema.js directly, since server.js and tokens.js need Node.
 */
export * from "./schema.js";
export { createToken, digestToken, tokenMatches, TOKEN_BYTES } from "./tokens.js";
export {
  Room,
  SignalingServer,
  type AttachedSignalingOptions,
  type CommonSignalingOptions,
  type RoomEndReason,
  type RoomState,
  type SignalingServerOptions,
  type StandaloneSignalingOptions,
} from "./server.js";
export {
  connectSignaling,
  type ConnectSignalingOptions,
  type SignalingClient,
  type SignalingCloseInfo,
  type WebSocketConstructor,
  type WebSocketLike,
} from "./client.js";
