/** The types of the Node frontend: its options, and what a connector for one connection type is given and returns. */
import type { Logger } from "../../core/logger.js";
import type { TrustedCa } from "./http.js";
import type { BackendName } from "../../webrtc/backends/index.js";
import type { RuntimeOptions } from "../runtime.js";
import type { SessionBootstrap } from "../../server/bootstrap.js";
import type { BonitoContract } from "../contract.js";

export interface ConnectFrontendOptions {
  /** Reject if the bootstrap has not arrived and the connection opened within this time (a WebRTC negotiation that times out, then the WebSocket fallback). Default 30 s. */
  timeoutMs?: number;
  /**
   * Certificate authorities to trust for `https://` and `wss://` (PEM), e.g. your own CA or a
   * self-signed server certificate. Default: Node's built-in list.
   */
  ca?: TrustedCa;
  /** For WebRTC sessions: the Node WebRTC stack to use. Default `"werift"`. */
  webrtc?: { backend?: BackendName };
  /**
   * Runs JavaScript the server sends (`session.evaljs`, JSCode values). Default: Bonito's
   * way, `new Function("__lookup_interpolated", "Bonito", source)`. Pass your own to
   * sandbox it or to refuse it.
   */
  evaluate?: RuntimeOptions["evaluate"];
  /** Where the frontend reports what it cannot throw to a caller. Default `console`. */
  logger?: Logger;
}

/** A frontend-side connection, once it is running. */
export interface FrontendLink {
  /** Close cleanly (the server ends the session); resolves once the connection is down. */
  close(): Promise<void>;
  /** Why it closed, once it has. */
  closeReason(): string | undefined;
  /** The transport that carries the session, when it can differ from the bootstrap's type (a WebRTC connection that fell back says `"websocket"`). */
  transport?(): string;
}

/** What a connector is given to join one session. */
export interface ConnectorContext {
  bootstrap: SessionBootstrap;
  /** The runtime to connect: call its contract (`on_connection_open`, ...) as the page's glue does. */
  bonito: BonitoContract;
  /** Time left to open the connection, in ms. */
  timeoutMs: number;
  /** The options `connectFrontend` was called with. */
  options: ConnectFrontendOptions;
  logger: Logger;
}

/** Joins a session of one connection type. */
export type FrontendConnector = (context: ConnectorContext) => Promise<FrontendLink>;
