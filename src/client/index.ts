/**
 * `connectFrontend(url)`: a headless Node frontend for a served session. It fetches the
 * JSON bootstrap, connects with the connection type the server announces, and runs the
 * same runtime as the browser (without DOM).
 */
import { BonitoRuntime, type ConnectionStatus } from "../frontend/runtime.js";
import type { Observable } from "../observable.js";
import type { BonitoContract } from "../frontend/contract.js";
import type { SessionBootstrap } from "../server.js";
import { fromBase64 } from "../base64.js";
import { frontendTransports, type FrontendTransport } from "./transports.js";
// Node frontends speak every connection type this package ships.
import "../webrtc/node-frontend.js";

export {
  registerFrontendTransport,
  type FrontendTransport,
  type FrontendTransportFactory,
  type FrontendTransportContext,
} from "./transports.js";
export { BonitoRuntime, type RuntimeStats, type RuntimeOptions } from "../frontend/runtime.js";
export type { ConnectionStatus } from "../frontend/runtime.js";
export type { SessionBootstrap } from "../server.js";

export interface ConnectFrontendOptions {
  /** Reject if the connection is not open within this time. Default 15 s. */
  timeoutMs?: number;
  /** Extra options for the transport (e.g. `{ backend }` for WebRTC). */
  transport?: Record<string, unknown>;
}

/** Why a frontend ended. */
export interface FrontendCloseInfo {
  reason: string;
}

/** A connected Node frontend. */
export interface Frontend {
  readonly sessionId: string;
  /** The connection type in use (`websocket`, `webrtc`, ...). */
  readonly connectionType: string;
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
  return connectWithBootstrap(await fetchBootstrap(url), options, url);
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
  const factory = frontendTransports.get(bootstrap.connection.type);
  if (!factory) {
    throw new Error(
      `the server announced connection type "${bootstrap.connection.type}", which this frontend cannot speak ` +
        `(known: ${[...frontendTransports.keys()].join(", ")}); import "bonito-webrtc/client" from the same package version`,
    );
  }
  const timeoutMs = options.timeoutMs ?? 15_000;
  const runtime = new BonitoRuntime();
  let resolveClosed!: (info: FrontendCloseInfo) => void;
  const closed = new Promise<FrontendCloseInfo>((resolve) => (resolveClosed = resolve));
  runtime.on_status_change((status) => {
    if (status === "closed") resolveClosed({ reason: transport?.closeReason?.() ?? "connection closed" });
  });
  runtime.init_session(bootstrap.sessionId, bootstrap.init ? fromBase64(bootstrap.init) : null, "root", bootstrap.compression);
  let transport: FrontendTransport | undefined;
  try {
    transport = await factory({ bootstrap, bonito: runtime as BonitoContract, timeoutMs, options: options.transport ?? {} });
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
    await transport.close();
    runtime.dispose();
    throw error;
  } finally {
    clearTimeout(timer);
  }

  return {
    sessionId: bootstrap.sessionId,
    connectionType: bootstrap.connection.type,
    runtime,
    observable: (id) => runtime.observable(id),
    status: () => runtime.connection_status(),
    closed,
    async close() {
      await transport!.close();
      runtime.dispose();
      resolveClosed({ reason: "closed by the frontend" });
    },
  };
}

/** Fetch the JSON bootstrap of a new session at `url`. */
export async function fetchBootstrap(url: string): Promise<SessionBootstrap> {
  const response = await fetch(url, { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`bootstrap request to ${url} failed: HTTP ${response.status} ${await response.text()}`);
  const bootstrap = (await response.json()) as SessionBootstrap;
  if (typeof bootstrap?.sessionId !== "string" || typeof bootstrap.connection?.type !== "string") {
    throw new Error(`bootstrap from ${url} is not a Bonito session bootstrap`);
  }
  return bootstrap;
}
