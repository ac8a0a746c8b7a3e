/**
 * `serve(app)`: an HTTP(S) server that gives each visitor a fresh {@link Session}. A browser
 * (`Accept: text/html`) gets a page that loads the runtime and the connection's glue; a
 * Node frontend (`Accept: application/json`) gets the bootstrap it needs to connect.
 *
 * It runs its own server (HTTP, or HTTPS with `https`), or mounts on one of yours
 * (`server`, at `path`) and leaves every request and upgrade it does not own to the
 * listeners that were there before. Every URL handed to a frontend is the one that
 * frontend used to reach it (see `public-url.ts`).
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server as HttpServer } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions as HttpsServerOptions } from "node:https";
import { Server as TlsServer } from "node:tls";
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
import { PendingSessions, clientAddress } from "./admission.js";
import { AssetTable, respond } from "./assets.js";
import { refuseHost, refuseOrigin, type RequestPolicy } from "./request-checks.js";
import { sessionBootstrap, type SessionBootstrap } from "./bootstrap.js";
import { renderPage } from "./page.js";
import { BadHostError, listeningUrl, normaliseMountPath, parsePublicUrl, requestBaseUrl, type PublicUrlOptions } from "./public-url.js";
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
  /**
   * Memory all sessions together may hold in frames received and not yet processed (still
   * arriving, waiting, or being decoded: what they inflated to and the values decoded so far).
   * Past it the session holding the most is closed. Default 512 MiB.
   */
  maxInboundBytes: number;
}

/** Builds the page body for a new session (an HTML string). Runs for JSON bootstraps too. */
export type App = (session: Session) => string | void | Promise<string | void>;

export interface ServeOptions {
  /** Port to listen on; 0 picks a free one. Default 0. Not with `server`. */
  port?: number;
  /** Interface to listen on, e.g. `0.0.0.0` for every interface. Default `127.0.0.1`. Not with `server`. */
  host?: string;
  /**
   * Serve HTTPS with this key and certificate (PEM), or any other `https.createServer`
   * options. Page, bootstrap, signaling and WebSockets then use `https://`/`wss://` on the
   * same port. Not with `server`.
   */
  https?: HttpsServerOptions;
  /**
   * Mount on your own `http.Server` or `https.Server` instead of starting one. Requests and
   * upgrades outside `path` (and outside the routes of live sessions) still reach the
   * listeners you attached; `close()` detaches and leaves your server running.
   */
  server?: HttpServer | HttpsServer;
  /** Path the app is served at (the page at `path`, its scripts and sockets below it). Default `/`. */
  path?: string;
  /**
   * The app's public URL, when frontends reach it through something that changes its
   * address (a reverse proxy, a tunnel), e.g. `https://example.org/app/`. Every URL handed
   * to a frontend is then built from it. Default: each request's own `Host` and scheme.
   */
  publicUrl?: string | URL;
  /**
   * Take scheme and host from `X-Forwarded-Proto` and `X-Forwarded-Host` (the first value
   * of each). Only behind a proxy that sets both: a client can send them too. Default false.
   */
  trustProxy?: boolean;
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
   * Host names the server answers to, besides IP addresses, `localhost`, `*.localhost` and
   * the host of `publicUrl` (`.example.com` also allows its subdomains); `"*"` for any. A
   * request for another host gets 403: that is what stops DNS rebinding. Default none.
   */
  allowedHosts?: string[] | "*";
  /**
   * Page origins (`https://app.example.com`) whose sockets are accepted besides the server's
   * own (as the request names it, see `publicUrl` and `trustProxy`); `"*"` for any. Default none.
   */
  allowedOrigins?: string[] | "*";
}

/** A running server. */
export interface BonitoServer {
  /**
   * Absolute URL of the app, e.g. `http://127.0.0.1:8080/`: `publicUrl` when given; for a
   * server on every interface (`0.0.0.0`) an address of this machine that others can reach;
   * never `0.0.0.0`. Throws while a server passed as `server` is not listening yet.
   */
  readonly url: string;
  readonly httpServer: HttpServer | HttpsServer;
  /** Live sessions by id. */
  readonly sessions: ReadonlyMap<string, Session>;
  /** Close every session; stop listening (or, on your own `server`, detach from it). */
  close(): Promise<void>;
}

/** Refuses an upgrade with 403; the first refusal is logged (to spot a missing allowedHosts), later ones are not (a flood of them must not flood the log). */
function refuseUpgrade(socket: Duplex, logger: Logger | null, reason: string): void {
  logger?.warn(`bonito: refused a WebSocket (further refusals are not logged): ${reason}`);
  socket.on("error", () => socket.destroy());
  socket.end("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
}

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;
type UpgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Servers that already carry an app: routes such as the signaling endpoint are per server. */
const mountedServers = new WeakSet<HttpServer | HttpsServer>();

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
  const router = new UpgradeRouter();
  const assets = new AssetTable();
  const mountPath = normaliseMountPath(options.path);
  const urls: PublicUrlOptions = {
    ...(options.publicUrl !== undefined ? { publicUrl: parsePublicUrl(options.publicUrl) } : {}),
    trustProxy: options.trustProxy ?? false,
    path: mountPath,
  };
  const allowedHosts = options.allowedHosts ?? [];
  const policy: RequestPolicy = {
    // The public URL's host is the server's own name.
    allowedHosts: allowedHosts === "*" || !urls.publicUrl ? allowedHosts : [...allowedHosts, urls.publicUrl.hostname],
    allowedOrigins: options.allowedOrigins ?? [],
  };
  const own = options.server === undefined;
  if (!own && (options.port !== undefined || options.host !== undefined || options.https !== undefined)) {
    throw new TypeError("serve(): port, host and https belong to the server you pass as `server`; configure them there");
  }
  const httpServer = options.server ?? (options.https ? createHttpsServer(options.https) : createServer());
  if (mountedServers.has(httpServer)) throw new Error("serve(): this server already carries a Bonito app; use one serve() per server");
  mountedServers.add(httpServer);

  // What was listening before us (your own app, on a server you passed): it keeps what we do not own.
  const previousRequestListeners = own ? [] : (httpServer.listeners("request") as RequestListener[]);
  const previousUpgradeListeners = own ? [] : (httpServer.listeners("upgrade") as UpgradeListener[]);
  const onRequest: RequestListener = (request, response) => {
    handleRequest(request, response).catch((error: Error) => {
      if (!response.headersSent) respond(response, 500, "text/plain", `bonito: ${error.message}\n`);
      else response.destroy(error);
    });
  };
  const onUpgrade: UpgradeListener = (request, socket, head) => {
    // On your own server, upgrades no route of ours claims are yours.
    if (previousUpgradeListeners.length && !router.claimsUpgrade(request)) return passOn(httpServer, previousUpgradeListeners, request, socket, head);
    const refused = refuseHost(request, policy) ?? refuseOrigin(request, policy, ownOrigin(request));
    if (refused) {
      refuseUpgrade(socket, refusalLogged ? null : logger, refused);
      refusalLogged = true;
      return;
    }
    router.handleUpgrade(request, socket, head);
  };
  for (const listener of previousRequestListeners) httpServer.off("request", listener);
  for (const listener of previousUpgradeListeners) httpServer.off("upgrade", listener);
  httpServer.on("request", onRequest);
  httpServer.on("upgrade", onUpgrade);

  if (own) {
    try {
      await new Promise<void>((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
          httpServer.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      mountedServers.delete(httpServer);
      throw error;
    }
  }
  const tls = httpServer instanceof TlsServer;
  let knownUrl: string | undefined;
  /** `server.url`; kept once known, so a closed server still has the URL it had. */
  function appUrl(): string {
    if (knownUrl !== undefined) return knownUrl;
    const address = httpServer.address();
    if (urls.publicUrl) knownUrl = urls.publicUrl.href;
    else if (address !== null && typeof address !== "string") knownUrl = listeningUrl(address, tls, urls).href;
    else throw new Error("serve(): the server is not listening on a TCP port yet; read url once it listens");
    return knownUrl;
  }
  if (own) appUrl();

  /** What the connection of a session created for `request` is offered. */
  function connectionHost(baseUrl: URL): ConnectionHost {
    return {
      httpServer,
      baseUrl: baseUrl.href,
      basePath: mountPath,
      logger,
      routeUpgrade: (path, handler) => router.routeUpgrade(path, handler),
      routeRequest: (path, handler) => router.routeRequest(path, handler),
    };
  }

  /** The origin a page of this server has, as `request` names the server; undefined if it names none. */
  function ownOrigin(request: IncomingMessage): string | undefined {
    try {
      return requestBaseUrl(request, urls).origin;
    } catch {
      return undefined;
    }
  }

  async function handleRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const pathname = pathOf(request);
    const assetPath = `${mountPath}${ASSET_PATH_PREFIX.slice(1)}`;
    const isPage = pathname === mountPath;
    const ours =
      isPage ||
      pathname.startsWith(assetPath) ||
      (own && pathname === "/favicon.ico") ||
      (mountPath !== "/" && `${pathname}/` === mountPath) ||
      router.claimsRequest(request);
    // On your own server, what is not ours is yours; on ours, everything is checked.
    if (!ours && previousRequestListeners.length) return passOn(httpServer, previousRequestListeners, request, response);
    const wrongHost = refuseHost(request, policy);
    if (wrongHost) return respond(response, 403, "text/plain", `bonito: ${wrongHost}\n`);
    if (router.handleRequest(request, response)) return;
    if (!ours) return respond(response, 404, "text/plain", `no such path: ${pathname}\n`);
    if (!isPage && `${pathname}/` === mountPath) return redirectToSlash(request, response, mountPath);
    if (request.method !== "GET" && request.method !== "HEAD") return respond(response, 405, "text/plain", "method not allowed\n");
    // Browsers ask for it on every page; a 404 would only add noise to their console.
    if (pathname === "/favicon.ico") return respond(response, 204, "image/x-icon", "");
    if (!isPage) return assets.serve(pathname.slice(assetPath.length), response);
    let baseUrl: URL;
    try {
      baseUrl = requestBaseUrl(request, urls);
    } catch (error) {
      if (error instanceof BadHostError) return respond(response, 400, "text/plain", `${error.message}\n`);
      throw error;
    }
    // A HEAD must not create a session nobody will use.
    if (request.method === "HEAD") return respond(response, 200, "text/html; charset=utf-8", "");
    const wantsJson = (request.headers.accept ?? "").includes("application/json");
    const admitted = pending.admit(clientAddress(request, urls.trustProxy));
    if ("refused" in admitted) {
      response.writeHead(503, { "content-type": "text/plain", "cache-control": "no-store", "retry-after": "5" });
      return void response.end(`bonito: too many sessions are starting: ${admitted.refused}\n`);
    }
    const { session, body, bootstrap } = await createSession(baseUrl).catch((error: unknown) => {
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

  async function createSession(baseUrl: URL): Promise<{ session: Session; body: string | void; bootstrap: SessionBootstrap }> {
    const connection = (options.connection ?? defaultConnection)();
    const session = new Session(connection, { compression: options.compression ?? false, logger, limits, inboundMemory });
    sessions.set(session.id, session);
    void session.closed.then(() => sessions.delete(session.id));
    try {
      const connectionBootstrap = await connection.attach(session, connectionHost(baseUrl));
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
    get url() {
      return appUrl();
    },
    httpServer,
    sessions,
    async close() {
      await Promise.all([...sessions.values()].map((s) => s.close("server shutting down")));
      router.clear();
      httpServer.off("request", onRequest);
      httpServer.off("upgrade", onUpgrade);
      mountedServers.delete(httpServer);
      if (!own) {
        for (const listener of previousRequestListeners) httpServer.on("request", listener);
        for (const listener of previousUpgradeListeners) httpServer.on("upgrade", listener);
        return;
      }
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
    },
  };
}

/** Hand a request or upgrade to the listeners that were on the server before us, as Node would have. */
function passOn(server: HttpServer | HttpsServer, listeners: readonly ((...args: never[]) => void)[], ...args: unknown[]): void {
  for (const listener of listeners) (listener as (...a: unknown[]) => void).apply(server, args);
}

/** `/app` → `/app/`: the page's relative URLs need the trailing slash. Relative, so a path-rewriting proxy keeps working. */
function redirectToSlash(request: IncomingMessage, response: ServerResponse, mountPath: string): void {
  const last = mountPath.slice(0, -1).split("/").pop()!;
  const query = (request.url ?? "").includes("?") ? (request.url ?? "").slice((request.url ?? "").indexOf("?")) : "";
  response.writeHead(301, { location: `${last}/${query}`, "cache-control": "no-store" });
  response.end();
}

function pathOf(request: IncomingMessage): string {
  try {
    return new URL(request.url ?? "/", "http://host").pathname;
  } catch {
    return "";
  }
}
