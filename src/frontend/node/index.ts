/**
 * `bonito-webrtc/client`: a headless Node frontend for a served session. It fetches the
 * JSON bootstrap, connects with the connection type the server announces, and runs the
 * same runtime as the browser (without DOM).
 */
import { BonitoRuntime, type ConnectionStatus } from "../runtime.js";
import type { Observable } from "../../core/observable.js";
import type { BonitoContract } from "../contract.js";
import type { SessionBootstrap } from "../../server/bootstrap.js";
import { fromBase64 } from "../../core/base64.js";
import { DEFAULT_FRONTEND_OPEN_TIMEOUT_MS } from "../../core/constants.js";
import { frontendConnector, knownConnectionTypes } from "./connectors.js";
import { getJson } from "./http.js";
import type { ConnectFrontendOptions, FrontendLink } from "./types.js";

export { registerFrontendConnector } from "./connectors.js";
export type { ConnectFrontendOptions, FrontendConnector, FrontendLink, ConnectorContext } from "./types.js";
export type { TrustedCa } from "./http.js";
export { BonitoRuntime, type RuntimeStats, type RuntimeOptions, type ConnectionStatus } from "../runtime.js";
export type { BonitoContract } from "../contract.js";
export type { SessionBootstrap } from "../../server/bootstrap.js";
export type { Observable } from "../../core/observable.js";

/** Why a frontend ended. */
export interface FrontendCloseInfo {
  reason: string;
}

/** A connected Node frontend. */
export interface Frontend {
  readonly sessionId: string;
  /** The connection type the server announced (`websocket`, `webrtc`, ...). */
  readonly connectionType: string;
  /**
   * The transport that carries the session: the connection type, except for a WebRTC
   * connection that could not connect and fell back to its WebSocket (`"websocket"`; the
   * reason is in `runtime.stats.fallbackReason`).
   */
  readonly transport: string;
  /** The runtime, for advanced use (`process_message`, `on_status_change`, ...). */
  readonly runtime: BonitoRuntime;
  /** The frontend-side mirror of the server observable `id`. */
  observable<T = unknown>(id: string): Observable<T>;
  /** Current connection status. */
  status(): ConnectionStatus;
  /** Settles once when the connection ends for good. */
  readonly closed: Promise<FrontendCloseInfo>;
  /** Close the connection; the server ends the session. */
  close(): Promise<void>;
}

/** Open a session at `url` (as served by `serve()`) as a Node frontend. */
export async function connectFrontend(url: string, options: ConnectFrontendOptions = {}): Promise<Frontend> {
  const startedAt = Date.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_FRONTEND_OPEN_TIMEOUT_MS;
  const bootstrap = await fetchBootstrap(url, { ...options, timeoutMs });
  return connectWithBootstrap(bootstrap, { ...options, timeoutMs: Math.max(1, timeoutMs - (Date.now() - startedAt)) }, url);
}

/**
 * Join a session from a bootstrap obtained some other way (see {@link fetchBootstrap}).
 * A bootstrap is single use: WebRTC tokens are consumed by the first join.
 */
export async function connectWithBootstrap(
  bootstrap: SessionBootstrap,
  options: ConnectFrontendOptions = {},
  url = `session ${bootstrap.sessionId}`,
): Promise<Frontend> {
  const connector = frontendConnector(bootstrap.connection.type);
  if (!connector) {
    throw new Error(
      `the server announced connection type "${bootstrap.connection.type}", which this frontend cannot speak ` +
        `(known: ${knownConnectionTypes().join(", ")}); register its connector with registerFrontendConnector`,
    );
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_FRONTEND_OPEN_TIMEOUT_MS;
  const logger = options.logger ?? console;
  const runtime = new BonitoRuntime({ logger, ...(options.evaluate ? { evaluate: options.evaluate } : {}) });
  let resolveClosed!: (info: FrontendCloseInfo) => void;
  const closed = new Promise<FrontendCloseInfo>((resolve) => (resolveClosed = resolve));
  let link: FrontendLink | undefined;
  runtime.on_status_change((status, reason) => {
    if (status === "closed") resolveClosed({ reason: reason ?? link?.closeReason() ?? "connection closed" });
  });
  runtime.init_session(bootstrap.sessionId, bootstrap.init ? fromBase64(bootstrap.init) : null, "root", bootstrap.compression);
  try {
    link = await connector({ bootstrap, bonito: runtime as BonitoContract, timeoutMs, options, logger });
  } catch (error) {
    runtime.dispose();
    throw error;
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      runtime.wait_for_connection(),
      closed.then((info) => {
        throw new Error(`connection to ${url} closed before it opened: ${info.reason}`);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`connection to ${url} did not open within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    await link.close();
    runtime.dispose();
    throw error;
  } finally {
    clearTimeout(timer);
  }

  const openLink = link;
  return {
    sessionId: bootstrap.sessionId,
    connectionType: bootstrap.connection.type,
    transport: openLink.transport?.() ?? bootstrap.connection.type,
    runtime,
    observable: (id) => runtime.observable(id),
    status: () => runtime.connection_status(),
    closed,
    async close() {
      await openLink.close();
      runtime.dispose();
      resolveClosed({ reason: "closed by the frontend" });
    },
  };
}

/** Fetch the JSON bootstrap of a new session at `url` (`ca` and `timeoutMs` as for {@link connectFrontend}). */
export async function fetchBootstrap(url: string, options: Pick<ConnectFrontendOptions, "ca" | "timeoutMs"> = {}): Promise<SessionBootstrap> {
  const bootstrap = (await getJson(url, {
    timeoutMs: options.timeoutMs ?? DEFAULT_FRONTEND_OPEN_TIMEOUT_MS,
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
  })) as SessionBootstrap;
  if (typeof bootstrap?.sessionId !== "string" || typeof bootstrap.connection?.type !== "string") {
    throw new Error(`bootstrap from ${url} is not a Bonito session bootstrap`);
  }
  return bootstrap;
}
