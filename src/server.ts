/**
 * `serve(app)`: an HTTP server that gives each visitor a fresh {@link Session}. A browser
 * (`Accept: text/html`) gets a page that loads the runtime and the connection's glue; a
 * Node frontend (`Accept: application/json`) gets the bootstrap it needs to connect.
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server as HttpServer } from "node:http";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { defaultConnection, type ConnectionBootstrap, type ConnectionHost, type FrontendConnection } from "./connection.js";
import { Session } from "./session.js";
import { UpgradeRouter } from "./upgrade-router.js";
import { MessageType, encodeServerFrame, type BonitoMessage } from "./protocol/index.js";
import { toBase64 } from "./base64.js";

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

/** The JSON bootstrap a non-browser frontend receives. */
export interface SessionBootstrap {
  sessionId: string;
  compression: boolean;
  /** Base64 server frame with the initial values of the session's observables, or null. */
  init: string | null;
  connection: ConnectionBootstrap;
}

const ASSET_DIR = new URL("../browser/", import.meta.url);
const ASSET_NAME = /^[a-z0-9-]+\.js$/;

/** Start serving `app`. */
export async function serve(app: App, options: ServeOptions = {}): Promise<BonitoServer> {
  const sessions = new Map<string, Session>();
  const httpServer = createServer((request, response) => {
    handleRequest(request, response).catch((error: Error) => {
      if (!response.headersSent) respond(response, 500, "text/plain", `bonito: ${error.message}\n`);
      else response.destroy(error);
    });
  });
  const router = new UpgradeRouter(httpServer);
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
  const host: ConnectionHost = {
    httpServer,
    baseUrl,
    routeUpgrade: (prefix, handler) => router.route(prefix, handler),
  };

  async function handleRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", baseUrl);
    if (request.method !== "GET" && request.method !== "HEAD") return respond(response, 405, "text/plain", "method not allowed\n");
    // Browsers ask for it on every page; a 404 would only add noise to their console.
    if (url.pathname === "/favicon.ico") return respond(response, 204, "image/x-icon", "");
    if (url.pathname.startsWith("/bonito/")) return serveAsset(url.pathname.slice("/bonito/".length), response);
    if (url.pathname !== "/") return respond(response, 404, "text/plain", `no such path: ${url.pathname}\n`);
    // A HEAD must not create a session nobody will use.
    if (request.method === "HEAD") return respond(response, 200, "text/html; charset=utf-8", "");
    const wantsJson = (request.headers.accept ?? "").includes("application/json");
    const { session, body, bootstrap } = await createSession();
    if (wantsJson) return respond(response, 200, "application/json", JSON.stringify(bootstrap));
    respond(response, 200, "text/html; charset=utf-8", renderPage(session, body ?? "", bootstrap, options.title ?? "Bonito"));
  }

  async function createSession(): Promise<{ session: Session; body: string | void; bootstrap: SessionBootstrap }> {
    const connection = (options.connection ?? defaultConnection)();
    const session = new Session(connection, { compression: options.compression ?? false });
    sessions.set(session.id, session);
    void session.closed.then(() => sessions.delete(session.id));
    try {
      const connectionBootstrap = await connection.attach(session, host);
      const body = await app(session);
      options.onSession?.(session);
      const timer = setTimeout(() => {
        if (session.status === "displayed") void session.close("the frontend did not connect in time");
      }, options.connectTimeoutMs ?? 60_000);
      timer.unref();
      void session.closed.then(() => clearTimeout(timer));
      const bootstrap: SessionBootstrap = {
        sessionId: session.id,
        compression: session.compressionEnabled,
        init: initialFrame(session),
        connection: connectionBootstrap,
      };
      return { session, body, bootstrap };
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
      router.dispose();
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
    },
  };
}

/**
 * The observables `app` created, with their values, as one server frame (base64) whose
 * session cache registers them, so the page has them before it connects.
 */
function initialFrame(session: Session): string | null {
  const cache = session.takeAnnouncements();
  if (cache.length === 0) return null;
  const empty: BonitoMessage = { msg_type: MessageType.FusedMessage, payload: [] };
  return toBase64(encodeServerFrame(session.id, empty, session.compressionEnabled, { cache }));
}

function renderPage(session: Session, body: string, bootstrap: SessionBootstrap, title: string): string {
  const scripts = ["runtime.js", ...session.connection.browserAssets()]
    .map((name) => `<script src="/bonito/${name}"></script>`)
    .join("\n");
  const init = `Bonito.init_session(${JSON.stringify(session.id)}, ${JSON.stringify(bootstrap.init)}, "root", ${session.compressionEnabled});`;
  const setup = session.connection.setupConnection(session) ?? "";
  // </script> inside the strings above cannot occur: ids are UUIDs, init is base64, setup is ours.
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
${scripts}
<script>${init}</script>
</head><body>
${body}
<script>${setup}</script>
</body></html>
`;
}

async function serveAsset(name: string, response: ServerResponse): Promise<void> {
  if (!ASSET_NAME.test(name)) return respond(response, 404, "text/plain", "no such asset\n");
  try {
    const source = await readFile(new URL(name, ASSET_DIR));
    respond(response, 200, "text/javascript; charset=utf-8", source);
  } catch {
    respond(response, 404, "text/plain", `no such asset: ${name} (did you run npm run build?)\n`);
  }
}

function respond(response: ServerResponse, status: number, type: string, body: string | Uint8Array): void {
  response.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  response.end(body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}
