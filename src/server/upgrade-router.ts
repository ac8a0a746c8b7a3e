/**
 * Routes by path: WebSocket upgrades (every session's socket and the signaling endpoint share
 * the page's port) and plain requests that connections claim. Every upgrade is answered:
 * routed, or refused with 404 and closed, so no socket is ever left hanging.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { RequestHandler, UpgradeHandler } from "../session/connection.js";

/** Path → handler, where a path ending with `/` also matches every path below it. */
class PathTable<Handler> {
  private readonly routes = new Map<string, Handler>();

  /** Add a route; returns its removal (which leaves a newer route for the same path alone). */
  add(path: string, handler: Handler): () => void {
    if (!path.startsWith("/")) throw new TypeError(`a route path must start with "/", got ${JSON.stringify(path)}`);
    if (this.routes.has(path)) throw new Error(`the path ${path} is already routed`);
    this.routes.set(path, handler);
    return () => {
      if (this.routes.get(path) === handler) this.routes.delete(path);
    };
  }

  /** The handler for `pathname`: an exact route first, then the longest prefix route. */
  match(pathname: string): Handler | undefined {
    const exact = this.routes.get(pathname);
    if (exact) return exact;
    let best: { path: string; handler: Handler } | undefined;
    for (const [path, handler] of this.routes) {
      if (path.endsWith("/") && pathname.startsWith(path) && (!best || path.length > best.path.length)) best = { path, handler };
    }
    return best?.handler;
  }

  clear(): void {
    this.routes.clear();
  }
}

export class UpgradeRouter {
  private readonly upgrades = new PathTable<UpgradeHandler>();
  private readonly requests = new PathTable<RequestHandler>();

  /** Send upgrades for `path` to `handler`. Returns an unregister function. */
  routeUpgrade(path: string, handler: UpgradeHandler): () => void {
    return this.upgrades.add(path, handler);
  }

  /** Send plain requests for `path` to `handler`. Returns an unregister function. */
  routeRequest(path: string, handler: RequestHandler): () => void {
    return this.requests.add(path, handler);
  }

  /** Whether a route claims the upgrade `request` (so the caller can leave the others to someone else). */
  claimsUpgrade(request: IncomingMessage): boolean {
    return this.upgrades.match(pathOf(request)) !== undefined;
  }

  /** Handle one upgrade: route it, or answer 404 and close the socket. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A client that resets meanwhile must not raise an unhandled 'error'.
    socket.on("error", () => socket.destroy());
    const handler = this.upgrades.match(pathOf(request));
    if (!handler) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    try {
      handler(request, socket, head);
    } catch {
      socket.destroy();
    }
  }

  /** Whether a route claims the plain request `request`. */
  claimsRequest(request: IncomingMessage): boolean {
    return this.requests.match(pathOf(request)) !== undefined;
  }

  /** Handle one plain request if a route claims it; returns whether one did. */
  handleRequest(request: IncomingMessage, response: ServerResponse): boolean {
    const handler = this.requests.match(pathOf(request));
    if (!handler) return false;
    handler(request, response);
    return true;
  }

  /** Forget every route. */
  clear(): void {
    this.upgrades.clear();
    this.requests.clear();
  }
}

function pathOf(request: IncomingMessage): string {
  try {
    return new URL(request.url ?? "/", "http://host").pathname;
  } catch {
    return "";
  }
}
