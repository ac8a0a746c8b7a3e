/**
 * `serve(app)`: an HTTP server that gives each visitor a fresh {@link Session}. A browser
 * (`Accept: text/html`) gets a page that loads the runtime and the connection's glue; a
 * Node frontend (`Accept: application/json`) gets the bootstrap it needs to connect.
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import {
  ASSET_PATH_PREFIX,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_INBOUND_BYTES,
  DEFAULT_MAX_PENDING_SESSIONS,
  DEFAULT_MAX_PENDING_SESSIONS_PER_ADDRESS,
} from "../core/constants.js";
import type { Logger } from "../core/logger.js";
import type { ConnectionHost, FrontendConnection } from "../session/connection.js";
import { InboundMemory } from "../session/inbound-memory.js";
import { Session, type SessionLimits } from "../session/session.js";
import { PendingSessions } from "./admission.js";
import { AssetTable, respond } from "./assets.js";
import { refuseHost, refuseOrigin, type RequestPolicy } from "./request-checks.js";
import { sessionBootstrap, type SessionBootstrap } from "./bootstrap.js";
import { renderPage } from "./page.js";
import { defaultConnection } from "./registry.js";
import { UpgradeRouter } from "./upgrade-router.js";

/**
 * What visitors may make the server do, besides each session's {@link SessionLimits} (which
 * apply to every session the server creates). Each breach closes the session, or refuses the
 * request with 503, with an error naming the limit.
 */
export interface ServerLimits extends SessionLimits {
  /** Sessions whose frontend has not finished loading, in all. Default 1000. */
  maxPendingSessions: number;
  /** Sessions whose frontend has not finished loading, per client address (IPv6: per /64). Default 32. */
  maxPendingSessionsPerAddress: number;
  /** Bytes all sessions together may hold in frames received and not yet processed. Default 512 MiB. */
  maxInboundBytes: number;
}

/** Builds the page body for a new session (an HTML string). Runs for JSON bootstraps too. */
export type App = (session: Session) => string | void | Promise<string | void>;

export interface ServeOptions {
  /** Port to listen on; 0 picks a free one. Default 0. */
  port?: number;
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Compress frames of every session (server gzip, frontend zlib). Default false. */
  compression?: boolean;
  /** Connection for each new session. Default: the registry's choice, `defaultConnection()`. */
  connection?: () => FrontendConnection;
  /** Page title. */
  title?: string;
  /** A session whose frontend has not finished loading after this long is closed. Default 60 s. */
  connectTimeoutMs?: number;
  /** Called with each new session after `app` ran. */
  onSession?: (session: Session) => void;
  /** Where sessions and connections report errors and frontend reports. Default `console`. */
  logger?: Logger;
  /** Limits on what visitors may make the server do; each one left out takes its default (README, "Security"). */
  limits?: Partial<ServerLimits>;
  /**
   * Host names the server answers to, besides IP addresses, `localhost` and `*.localhost`
   * (`.example.com` also allows its subdomains); `"*"` for any. A request for another host
   * gets 403: that is what stops DNS rebinding. Default none.
   */
  allowedHosts?: string[] | "*";
  /**
   * Page origins (`https://app.example.com`) whose sockets are accepted besides the server's
   * own; `"*"` for any. Default none.
   */
  allowedOrigins?: string[] | "*";
}

/** A running server. */
export interface BonitoServer {
  /** Absolute URL of the app, e.g. `http://127.0.0.1:8080/`. */
  readonly url: string;
  readonly httpServer: HttpServer;
  /** Live sessions by id. */
  readonly sessions: ReadonlyMap<string, Session>;
  /** Close every session and stop listening. */
  close(): Promise<void>;
}

/** Refuses an upgrade with 403; the first refusal is logged (to spot a missing allowedHosts), later ones are not (a flood of them must not flood the log). */
function refuseUpgrade(socket: Duplex, logger: Logger | null, reason: string): void {
  logger?.warn(`bonito: refused a WebSocket (further refusals are not logged): ${reason}`);
  socket.on("error", () => socket.destroy());
  socket.end("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
}

/** Start serving `app`. */
export async function serve(app: App, options: ServeOptions = {}): Promise<BonitoServer> {
  const logger = options.logger ?? console;
  const sessions = new Map<string, Session>();
  const limits = options.limits ?? {};
  const pending = new PendingSessions(
    limits.maxPendingSessions ?? DEFAULT_MAX_PENDING_SESSIONS,
    limits.maxPendingSessionsPerAddress ?? DEFAULT_MAX_PENDING_SESSIONS_PER_ADDRESS,
  );
  const inboundMemory = new InboundMemory(limits.maxInboundBytes ?? DEFAULT_MAX_INBOUND_BYTES);
  let refusalLogged = false;
  const policy: RequestPolicy = { allowedHosts: options.allowedHosts ?? [], allowedOrigins: options.allowedOrigins ?? [] };
  const router = new UpgradeRouter();
  const assets = new AssetTable();
  const httpServer = createServer((request, response) => {
    handleRequest(request, response).catch((error: Error) => {
      if (!response.headersSent) respond(response, 500, "text/plain", `bonito: ${error.message}\n`);
      else response.destroy(error);
    });
  });
  httpServer.on("upgrade", (request, socket, head) => {
    const refused = refuseHost(request, policy) ?? refuseOrigin(request, policy);
    if (refused) {
      refuseUpgrade(socket, refusalLogged ? null : logger, refused);
      refusalLogged = true;
      return;
    }
    router.handleUpgrade(request, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      httpServer.off("error", reject);
      resolve();
    });
  });
  const address = httpServer.address() as AddressInfo;
  const hostForUrl = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const baseUrl = `http://${hostForUrl}:${address.port}/`;

  /** What the connection of a session created for `request` is offered. */
  function connectionHost(_request: IncomingMessage): ConnectionHost {
    return {
      httpServer,
      baseUrl,
      logger,
      routeUpgrade: (path, handler) => router.routeUpgrade(path, handler),
      routeRequest: (path, handler) => router.routeRequest(path, handler),
    };
  }

  async function handleRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const wrongHost = refuseHost(request, policy);
    if (wrongHost) return respond(response, 403, "text/plain", `bonito: ${wrongHost}\n`);
    if (router.handleRequest(request, response)) return;
    const url = new URL(request.url ?? "/", baseUrl);
    if (request.method !== "GET" && request.method !== "HEAD") return respond(response, 405, "text/plain", "method not allowed\n");
    // Browsers ask for it on every page; a 404 would only add noise to their console.
    if (url.pathname === "/favicon.ico") return respond(response, 204, "image/x-icon", "");
    if (url.pathname.startsWith(ASSET_PATH_PREFIX)) return assets.serve(url.pathname.slice(ASSET_PATH_PREFIX.length), response);
    if (url.pathname !== "/") return respond(response, 404, "text/plain", `no such path: ${url.pathname}\n`);
    // A HEAD must not create a session nobody will use.
    if (request.method === "HEAD") return respond(response, 200, "text/html; charset=utf-8", "");
    const wantsJson = (request.headers.accept ?? "").includes("application/json");
    const admitted = pending.admit(request.socket.remoteAddress);
    if ("refused" in admitted) {
      response.writeHead(503, { "content-type": "text/plain", "cache-control": "no-store", "retry-after": "5" });
      return void response.end(`bonito: too many sessions are starting: ${admitted.refused}\n`);
    }
    const { session, body, bootstrap } = await createSession(request).catch((error: unknown) => {
      admitted.release();
      throw error;
    });
    // The slot is free once the frontend has loaded, or the session has ended.
    session.onReady(admitted.release);
    void session.closed.then(admitted.release);
    if (wantsJson) return respond(response, 200, "application/json", JSON.stringify(bootstrap));
    const pageAssets = session.connection.browserAssets();
    for (const asset of pageAssets) assets.add(asset);
    const page = renderPage({ session, bootstrap, assets: pageAssets, body: body ?? "", title: options.title ?? "Bonito" });
    respond(response, 200, "text/html; charset=utf-8", page);
  }

  async function createSession(request: IncomingMessage): Promise<{ session: Session; body: string | void; bootstrap: SessionBootstrap }> {
    const connection = (options.connection ?? defaultConnection)();
    const session = new Session(connection, { compression: options.compression ?? false, logger, limits, inboundMemory });
    sessions.set(session.id, session);
    void session.closed.then(() => sessions.delete(session.id));
    try {
      const connectionBootstrap = await connection.attach(session, connectionHost(request));
      const body = await app(session);
      options.onSession?.(session);
      const timer = setTimeout(() => {
        if (session.status === "displayed") void session.close("the frontend did not connect in time");
      }, options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
      timer.unref();
      void session.closed.then(() => clearTimeout(timer));
      return { session, body, bootstrap: sessionBootstrap(session, connectionBootstrap) };
    } catch (error) {
      await session.close(`creating the session failed: ${(error as Error).message}`, error as Error);
      throw error;
    }
  }

  return {
    url: baseUrl,
    httpServer,
    sessions,
    async close() {
      await Promise.all([...sessions.values()].map((s) => s.close("server shutting down")));
      router.clear();
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
    },
  };
}
