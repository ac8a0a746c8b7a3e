/**
 * The pluggable transport between a server-side {@link Session} and its frontend, and the
 * registry that picks one for each new session (Bonito's `FrontendConnection` and
 * `register_connection!`).
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Server as HttpServer } from "node:http";
import type { Session } from "./session.js";

/** What a Node (non-browser) frontend needs to reach a session: `type` names the connection. */
export interface ConnectionBootstrap {
  type: string;
  [key: string]: unknown;
}

/** Handles a WebSocket upgrade on one path prefix of the host's HTTP server. */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * What the host (see `serve()`) offers a connection when a session is created: the HTTP
 * server, its public base URL, and a way to claim upgrade requests on a path prefix.
 */
export interface ConnectionHost {
  readonly httpServer: HttpServer;
  /** Absolute base URL of the host, with a trailing slash, e.g. `http://127.0.0.1:8080/`. */
  readonly baseUrl: string;
  /** Route WebSocket upgrades whose path starts with `prefix` to `handler`. Returns an unregister function. */
  routeUpgrade(prefix: string, handler: UpgradeHandler): () => void;
}

/**
 * A transport that moves binary frames both ways between one session and its frontend.
 * Subclasses implement the transport; the {@link Session} never knows how bytes travel.
 */
export abstract class FrontendConnection {
  /** The session this connection carries, set by {@link attach}. */
  protected session: Session | undefined;

  /** Short name of the transport, as announced to frontends in the bootstrap (`connection.type`). */
  abstract readonly type: string;

  /**
   * Hand one frame to the transport. Resolves once the transport has taken the frame
   * (this is where backpressure lives); rejects if the connection cannot take it.
   * The caller must not mutate `frame` afterwards.
   */
  abstract write(frame: Uint8Array): Promise<void>;

  /** True while frames written now would reach the frontend. */
  abstract isOpen(): boolean;

  /** Bonito's `open!`: mark the connection usable again (optional for transports that track it themselves). */
  open(): void {}

  /** Close the transport and end its session. Idempotent. */
  abstract close(): Promise<void>;

  /**
   * Bind the connection to its session and host. Called once by the host right after the
   * session is created, before {@link setupConnection}. Returns the description a
   * non-browser frontend needs to connect (sent as `connection` in the JSON bootstrap).
   */
  abstract attach(session: Session, host: ConnectionHost): Promise<ConnectionBootstrap>;

  /**
   * JavaScript that the page runs once the runtime has loaded (with `Bonito` in scope);
   * it creates the browser side of the connection. `null` when there is nothing to run.
   */
  abstract setupConnection(session: Session): string | null;

  /** Browser scripts (paths below the host's `/bonito/` asset folder) the page must load first. */
  browserAssets(): string[] {
    return [];
  }
}

/** A factory returns a fresh connection, or `null` to let an older registration answer. */
export type ConnectionFactory = () => FrontendConnection | null;

interface Registration {
  name: string;
  factory: ConnectionFactory;
}

/** Raised when no registered factory produced a connection. */
export class NoConnectionError extends Error {
  constructor(names: string[]) {
    super(
      names.length === 0
        ? "no connection factory is registered: call registerConnection(factory) first"
        : `no registered connection factory answered (asked, newest first: ${names.join(", ")}); ` +
            "every factory returned null",
    );
    this.name = "NoConnectionError";
  }
}

const registrations: Registration[] = [];
let forcedFactory: ConnectionFactory | null = null;
let anonymousCount = 0;

/**
 * Register a connection factory. Newer registrations are asked first; registering an
 * existing `name` replaces that registration in place (keeping its priority).
 */
export function registerConnection(factory: ConnectionFactory, options: { name?: string } = {}): void {
  const name = options.name ?? `anonymous-${++anonymousCount}`;
  const existing = registrations.findIndex((r) => r.name === name);
  if (existing >= 0) registrations[existing] = { name, factory };
  else registrations.push({ name, factory });
}

/** Remove a registration by name. Returns whether one was removed. */
export function unregisterConnection(name: string): boolean {
  const index = registrations.findIndex((r) => r.name === name);
  if (index < 0) return false;
  registrations.splice(index, 1);
  return true;
}

/** Names of the registrations, oldest first. */
export function registeredConnections(): string[] {
  return registrations.map((r) => r.name);
}

/**
 * Make every new session use `factory` regardless of the registry, or restore the
 * registry's choice with `null`.
 */
export function forceConnection(factory: ConnectionFactory | null): void {
  forcedFactory = factory;
}

/**
 * The connection for a new session: the forced factory if set, otherwise the newest
 * registration whose factory returns non-null.
 */
export function defaultConnection(): FrontendConnection {
  if (forcedFactory) {
    const forced = forcedFactory();
    if (!forced) throw new Error("the forced connection factory returned null");
    return forced;
  }
  for (let i = registrations.length - 1; i >= 0; i--) {
    const connection = registrations[i]!.factory();
    if (connection) return connection;
  }
  throw new NoConnectionError(registrations.map((r) => r.name).reverse());
}
