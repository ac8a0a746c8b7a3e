/**
 * The default connection: one WebSocket per session on the host's HTTP server, at
 * `/bonito-ws/<session id>`. A clean close ends the session at once; an abnormal drop
 * keeps it for `reconnectWindowMs` so the frontend can come back under the same id,
 * with messages queued on both sides meanwhile.
 */
import { WebSocketServer, type WebSocket, type RawData } from "ws";
import { FrontendConnection, type ConnectionBootstrap, type ConnectionHost } from "../connection.js";
import type { Session } from "../session.js";

export interface WebSocketConnectionOptions {
  /** Largest frame accepted from the frontend; a bigger one closes the session. Default 256 MiB. */
  maxFrameSize?: number;
  /** How long a session survives an abnormal drop, waiting for the frontend to reconnect. Default 30 s. */
  reconnectWindowMs?: number;
}

/** Path prefix of the per-session WebSocket endpoints. */
export const WEBSOCKET_PATH = "/bonito-ws/";

const ABNORMAL_CLOSURE = 1006;

export class WebSocketConnection extends FrontendConnection {
  readonly type = "websocket";
  private readonly maxFrameSize: number;
  private readonly reconnectWindowMs: number;
  private server: WebSocketServer | undefined;
  private socket: WebSocket | undefined;
  private unroute: (() => void) | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private closing = false;
  private path = "";

  constructor(options: WebSocketConnectionOptions = {}) {
    super();
    this.maxFrameSize = options.maxFrameSize ?? 256 * 1024 * 1024;
    this.reconnectWindowMs = options.reconnectWindowMs ?? 30_000;
  }

  async attach(session: Session, host: ConnectionHost): Promise<ConnectionBootstrap> {
    this.session = session;
    this.path = `${WEBSOCKET_PATH}${session.id}`;
    this.server = new WebSocketServer({ noServer: true, maxPayload: this.maxFrameSize });
    this.unroute = host.routeUpgrade(this.path, (request, socket, head) => {
      const server = this.server;
      if (!server || this.closing) return void socket.destroy();
      server.handleUpgrade(request, socket, head, (ws) => this.accept(ws));
    });
    const url = new URL(this.path, host.baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return { type: this.type, url: url.href };
  }

  override browserAssets(): string[] {
    return ["websocket.js"];
  }

  setupConnection(session: Session): string {
    // The page resolves the path against its own location, so a proxy in front still works.
    return `BonitoWebSocket.connect(${JSON.stringify(this.path)}, Bonito, ${session.compressionEnabled});`;
  }

  isOpen(): boolean {
    return this.socket !== undefined && this.socket.readyState === this.socket.OPEN;
  }

  write(frame: Uint8Array): Promise<void> {
    const socket = this.socket;
    if (!socket || !this.isOpen()) return Promise.reject(new Error("websocket connection is not open"));
    return new Promise((resolve, reject) => {
      socket.send(frame, { binary: true }, (error) => (error ? reject(error) : resolve()));
    });
  }

  /**
   * Cut the socket without a close handshake, as a network failure would: the session
   * survives and the frontend reconnects within the window. For failover drills and tests.
   */
  severLink(): void {
    this.socket?.terminate();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.clearReconnectTimer();
    this.unroute?.();
    const socket = this.socket;
    this.socket = undefined;
    if (socket && socket.readyState === socket.OPEN) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          socket.terminate();
          resolve();
        }, 1000);
        socket.once("close", () => {
          clearTimeout(timer);
          resolve();
        });
        socket.close(1000, "session closed");
      });
    } else socket?.terminate();
    this.server?.close();
    this.server = undefined;
    await this.session?.close("connection closed");
  }

  /** A frontend (re)connected: it replaces any previous socket of this session. */
  private accept(ws: WebSocket): void {
    const previous = this.socket;
    this.socket = ws;
    previous?.terminate();
    this.clearReconnectTimer();
    ws.on("message", (data: RawData, isBinary: boolean) => {
      if (!isBinary) {
        void this.session?.close("the frontend sent a text frame; Bonito frames are binary", new Error("text frame"));
        return;
      }
      void this.session?.processMessage(toUint8Array(data));
    });
    ws.on("error", () => {
      // 'close' follows with the code that decides what happens.
    });
    ws.on("close", (code: number, reason: Buffer) => this.onSocketClose(ws, code, reason.toString()));
    this.session?.connectionOpened();
  }

  private onSocketClose(ws: WebSocket, code: number, reason: string): void {
    if (this.socket !== ws || this.closing) return;
    this.socket = undefined;
    const session = this.session;
    if (!session) return;
    if (code === ABNORMAL_CLOSURE) {
      this.reconnectTimer = setTimeout(() => {
        void session.close(`the frontend did not reconnect within ${this.reconnectWindowMs} ms`);
      }, this.reconnectWindowMs);
      this.reconnectTimer.unref();
      return;
    }
    const error = code === 1009 ? new Error(`the frontend sent a frame larger than ${this.maxFrameSize} bytes`) : undefined;
    void session.close(error ? error.message : `the frontend closed the connection (${code}${reason ? `: ${reason}` : ""})`, error);
  }

  private clearReconnectTimer(): void {
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }
}

/** `ws` hands over a Buffer, an ArrayBuffer or fragments depending on settings; the session wants one Uint8Array. */
function toUint8Array(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
