/**
 * One `upgrade` listener on the host's HTTP server that routes WebSocket upgrades by path,
 * so every session's socket (and the signaling endpoint) shares the page's port.
 */
import type { IncomingMessage, Server as HttpServer } from "node:http";
import type { Duplex } from "node:stream";
import type { UpgradeHandler } from "./connection.js";

export class UpgradeRouter {
  private readonly routes = new Map<string, UpgradeHandler>();
  private readonly listener = (request: IncomingMessage, socket: Duplex, head: Buffer) => this.dispatch(request, socket, head);

  constructor(private readonly httpServer: HttpServer) {
    httpServer.on("upgrade", this.listener);
  }

  /** Send upgrades for `path` (exact, or below it when it ends with `/`) to `handler`. Returns an unregister function. */
  route(path: string, handler: UpgradeHandler): () => void {
    this.routes.set(path, handler);
    return () => {
      if (this.routes.get(path) === handler) this.routes.delete(path);
    };
  }

  /** Stop listening to the HTTP server. */
  dispose(): void {
    this.httpServer.off("upgrade", this.listener);
    this.routes.clear();
  }

  private dispatch(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const pathname = new URL(request.url ?? "/", "http://host").pathname;
    const handler = this.match(pathname);
    if (handler) {
      try {
        handler(request, socket, head);
      } catch {
        socket.destroy();
      }
      return;
    }
    // Another upgrade listener (e.g. an attached signaling server) may own this path.
    if (this.httpServer.listenerCount("upgrade") > 1) return;
    socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  }

  private match(pathname: string): UpgradeHandler | undefined {
    const exact = this.routes.get(pathname);
    if (exact) return exact;
    for (const [path, handler] of this.routes) {
      if (path.endsWith("/") && pathname.startsWith(path)) return handler;
    }
    return undefined;
  }
}
