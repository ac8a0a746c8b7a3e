/**
 * `FrontendConnection`: the pluggable transport between a server-side {@link Session} and its
 * frontend (Bonito's `FrontendConnection`). A connection moves binary frames both ways; it
 * never looks inside them.
 *
 * The base class is a template: subclasses implement the transport (`prepare`, `write`,
 * `isOpen`, `doClose`, the page's `setupConnection`), and report what the transport does
 * through the protected `deliver`, `opened` and `ended`. The base class owns the rules every
 * transport must follow: it is attached once, closing is idempotent, and closing the
 * connection ends its session (and the other way round).
 */
import type { IncomingMessage, ServerResponse, Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import { DEFAULT_MAX_FRAME_SIZE } from "../core/constants.js";
import type { Logger } from "../core/logger.js";
import type { Session } from "./session.js";
import { sessionLink } from "./link.js";

/**
 * What a Node (non-browser) frontend needs to reach a session, sent as JSON: `type` names the
 * connection, and each connection adds its own fields.
 */
export interface ConnectionBootstrap {
  type: string;
}

/** Handles a WebSocket upgrade request routed to a connection. */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Handles a plain HTTP request routed to a connection. */
export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * What the host (see `serve()`) offers a connection when a session is created. One host
 * object per session: `baseUrl` is the address under which this session's frontend reached
 * the host.
 *
 * Paths and URLs: route your endpoints below `basePath` (where the app is mounted on the
 * server), give a Node frontend the absolute URL `new URL(relative, baseUrl)` and the page
 * the relative path itself (the page resolves it against its own address, which stays right
 * behind a proxy that rewrites host, scheme or path).
 */
export interface ConnectionHost {
  readonly httpServer: HttpServer | HttpsServer;
  /**
   * Absolute base URL of the app as this session's frontend reaches it, with a trailing
   * slash: from the request's `Host` and scheme, a trusted proxy's `X-Forwarded-*`, or the
   * configured public URL. Never a wildcard address such as `0.0.0.0`.
   */
  readonly baseUrl: string;
  /** Path of the app on the HTTP server, with leading and trailing slash (`/` unless mounted elsewhere). */
  readonly basePath: string;
  /** Where the connection reports what it cannot throw to a caller. */
  readonly logger: Logger;
  /**
   * Send WebSocket upgrades for `path` (exact, or every path below it when it ends with `/`)
   * to `handler`. Every upgrade the host receives is routed or refused with 404; nothing else
   * may listen to the server's `upgrade` event. Returns a function that removes the route.
   */
  routeUpgrade(path: string, handler: UpgradeHandler): () => void;
  /** Send plain HTTP requests for `path` (same matching as {@link routeUpgrade}) to `handler`. */
  routeRequest(path: string, handler: RequestHandler): () => void;
}

/**
 * A script the page loads as a module script (after the runtime, before
 * {@link FrontendConnection.setupConnection} runs, in document order, as Bonito loads its own):
 * the browser side of a connection. The host serves `file` at `/bonito/<name>`.
 */
export interface BrowserAsset {
  /** File name under the host's asset path: lowercase letters, digits and dashes, ending in `.js`. */
  name: string;
  /** The script on disk: an absolute path or a `file:` URL. */
  file: string | URL;
}

/** Names a {@link BrowserAsset} may have. */
export const BROWSER_ASSET_NAME = /^[a-z0-9][a-z0-9-]*\.js$/;

/**
 * A transport that moves binary frames both ways between one session and its frontend.
 *
 * Life cycle: the host creates the connection (usually through the registry), creates the
 * {@link Session} with it, calls {@link attach} once, renders the page with
 * {@link browserAssets} and {@link setupConnection}, and from then on the session writes
 * frames. The subclass reports inbound frames with {@link deliver}, each (re)open of its
 * transport with {@link opened}, and the transport ending on its own with {@link ended}.
 */
export abstract class FrontendConnection {
  /** Short name of the transport, announced to frontends as the bootstrap's `type`. */
  abstract readonly type: string;

  #session: Session | undefined;
  #closing: Promise<void> | undefined;
  #endedWith: { reason: string; error?: Error } | undefined;

  /** The session this connection carries, once {@link attach} was called. */
  protected get session(): Session | undefined {
    return this.#session;
  }

  /** True once {@link close} has been called (or the transport ended): send nothing more. */
  protected get isClosing(): boolean {
    return this.#closing !== undefined;
  }

  // ---- called by the host and the session -----------------------------------------------

  /**
   * Bind the connection to its session and prepare the transport. Called once by the host,
   * right after the session is created. Resolves to what a non-browser frontend needs to
   * connect (sent as `connection` in the JSON bootstrap).
   */
  async attach(session: Session, host: ConnectionHost): Promise<ConnectionBootstrap> {
    if (this.#session) {
      throw new Error(`this ${this.type} connection already carries session ${this.#session.id}; create one connection per session`);
    }
    this.#session = session;
    return this.prepare(session, host);
  }

  /**
   * Hand one frame to the transport. Resolves once the transport has taken it (this is where
   * backpressure lives); rejects if the connection cannot take it. The caller must not
   * modify `frame` afterwards.
   */
  abstract write(frame: Uint8Array): Promise<void>;

  /** True while frames written now would reach the frontend. */
  abstract isOpen(): boolean;

  /**
   * The transport that carries the session now, e.g. `"websocket"` or `"webrtc"`. The
   * connection's {@link type} unless it can change transport (a WebRTC connection that fell
   * back to its WebSocket says `"websocket"`).
   */
  get transport(): string {
    return this.type;
  }

  /**
   * The largest frame this transport accepts from the frontend, in bytes. The session also
   * refuses a compressed frame that inflates past it. Default 256 MiB; a transport with its
   * own limit reports that.
   */
  get maxFrameSize(): number {
    return DEFAULT_MAX_FRAME_SIZE;
  }

  /**
   * JavaScript that the page runs once the runtime and {@link browserAssets} have loaded
   * (`Bonito` is in scope); it creates the browser side of the connection. `null` when there
   * is nothing to run.
   */
  abstract setupConnection(session: Session): string | null;

  /** Scripts the page must load before {@link setupConnection} runs. */
  browserAssets(): BrowserAsset[] {
    return [];
  }

  /**
   * Close the transport and end the session. Idempotent: every call returns the promise of
   * the first one.
   */
  close(reason = "connection closed"): Promise<void> {
    this.#closing ??= this.#shutDown(reason);
    return this.#closing;
  }

  // ---- implemented by subclasses ------------------------------------------------------

  /** Set up the transport for `session` (routes, rooms, servers) and return the bootstrap. */
  protected abstract prepare(session: Session, host: ConnectionHost): Promise<ConnectionBootstrap>;

  /**
   * Release the transport. Called once, by {@link close}, with the reason the session ends
   * (a transport that can tell its frontend why should); must not throw for a transport
   * that never opened.
   */
  protected abstract doClose(reason: string): Promise<void>;

  // ---- for subclasses: report what the transport does ---------------------------------

  /**
   * Hand one inbound frame to the session. Frames are processed one at a time in the order
   * delivered; the returned promise settles once this one has been (wait for it to apply
   * backpressure). A malformed frame closes the session, and only this session.
   */
  protected deliver(frame: Uint8Array): Promise<void> {
    const session = this.#session;
    if (!session || this.isClosing) return Promise.resolve();
    return sessionLink(session).receive(frame);
  }

  /**
   * Report how many bytes the transport holds right now for frames it has not delivered:
   * fragments of a frame still arriving, whole frames waiting for their turn. They count
   * against the server's `maxInboundBytes`, so that clients that start frames and never
   * finish them cannot exhaust the server's memory together. Call it whenever the amount
   * changes (0 once everything is delivered).
   */
  protected holdingInbound(bytes: number): void {
    const session = this.#session;
    if (session) sessionLink(session).holding(bytes);
  }

  /** The transport (re)opened: the session sends what it queued meanwhile. */
  protected opened(): void {
    const session = this.#session;
    if (session && !this.isClosing) sessionLink(session).opened();
  }

  /**
   * The transport ended by itself (the frontend left, the link failed): close the connection
   * and end the session with `reason` (and `error` when something went wrong).
   */
  protected ended(reason: string, error?: Error): Promise<void> {
    this.#endedWith ??= error ? { reason, error } : { reason };
    return this.close(reason);
  }

  async #shutDown(reason: string): Promise<void> {
    // One turn first, so that `close` has recorded this shutdown: ending the session calls it again.
    await Promise.resolve();
    const ended = this.#endedWith;
    // The session ends at once (not awaited: Session.close awaits this very close(), and
    // ends the session synchronously); the transport may take longer to close cleanly.
    void this.#session?.close(ended?.reason ?? reason, ended?.error);
    await this.doClose(ended?.reason ?? reason);
  }
}
