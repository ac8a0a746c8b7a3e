/**
 * The default connection: one WebSocket per session on the host's HTTP server, at
 * `/bonito-ws/<session id>`. A clean close ends the session at once; an abnormal drop
 * keeps it for `reconnectWindowMs` so the frontend can come back under the same id,
 * with messages queued on both sides meanwhile.
 */
import { WebSocketServer, type WebSocket, type RawData } from "ws";
import { DEFAULT_MAX_FRAME_SIZE, DEFAULT_RECONNECT_WINDOW_MS, WEBSOCKET_PATH_PREFIX } from "../core/constants.js";
import { FrontendConnection, type BrowserAsset, type ConnectionBootstrap, type ConnectionHost } from "../session/connection.js";
import type { Session } from "../session/session.js";

export interface WebSocketConnectionOptions {
  /** Largest frame accepted from the frontend; a bigger one closes the session. Default 256 MiB. */
  maxFrameSize?: number;
  /** How long a session survives an abnormal drop, waiting for the frontend to reconnect. Default 30 s. */
  reconnectWindowMs?: number;
}

/** What a Node frontend needs to join a WebSocket session (the bootstrap's `connection`). */
export interface WebSocketBootstrap extends ConnectionBootstrap {
  type: "websocket";
  /** Absolute `ws://` or `wss://` URL of the session's socket. */
  url: string;
}

const ABNORMAL_CLOSURE = 1006;
const MESSAGE_TOO_BIG = 1009;
/** How long a clean close may wait for the frontend's close frame. */
const CLOSE_HANDSHAKE_MS = 1000;

export class WebSocketConnection extends FrontendConnection {
  readonly type = "websocket";
  private readonly maxFrameSize: number;
  private readonly reconnectWindowMs: number;
  private server: WebSocketServer | undefined;
  private socket: WebSocket | undefined;
  private unroute: (() => void) | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private path = "";

  constructor(options: WebSocketConnectionOptions = {}) {
    super();
    this.maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    this.reconnectWindowMs = options.reconnectWindowMs ?? DEFAULT_RECONNECT_WINDOW_MS;
  }

  protected async prepare(session: Session, host: ConnectionHost): Promise<WebSocketBootstrap> {
    this.path = `${WEBSOCKET_PATH_PREFIX}${session.id}`;
    const server = new WebSocketServer({ noServer: true, maxPayload: this.maxFrameSize });
    this.server = server;
    this.unroute = host.routeUpgrade(this.path, (request, socket, head) => {
      if (this.isClosing) return void socket.destroy();
      server.handleUpgrade(request, socket, head, (ws) => this.accept(ws));
    });
    const url = new URL(this.path, host.baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return { type: "websocket", url: url.href };
  }

  override browserAssets(): BrowserAsset[] {
    return [{ name: "websocket.js", file: new URL("../../browser/websocket.js", import.meta.url) }];
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
      socket.send(frame, { binary: true }, (error) => {
        if (!error) return resolve();
        // The link broke under this write (ws may not have noticed yet): drop it now, so the
        // session sees the connection closed and keeps the message for the reconnect.
        socket.terminate();
        reject(error);
      });
    });
  }

  protected async doClose(): Promise<void> {
    this.clearReconnectTimer();
    this.unroute?.();
    const socket = this.socket;
    this.socket = undefined;
    if (socket && socket.readyState === socket.OPEN) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          socket.terminate();
          resolve();
        }, CLOSE_HANDSHAKE_MS);
        socket.once("close", () => {
          clearTimeout(timer);
          resolve();
        });
        socket.close(1000, "session closed");
      });
    } else socket?.terminate();
    this.server?.close();
    this.server = undefined;
  }

  /** A frontend (re)connected: it replaces any previous socket of this session. */
  private accept(ws: WebSocket): void {
    const previous = this.socket;
    this.socket = ws;
    previous?.terminate();
    this.clearReconnectTimer();
    ws.on("message", (data: RawData, isBinary: boolean) => {
      if (!isBinary) {
        void this.ended("the frontend sent a text frame; Bonito frames are binary", new Error("text frame"));
        return;
      }
      void this.deliver(toUint8Array(data));
    });
    ws.on("error", () => {
      // 'close' follows with the code that decides what happens.
    });
    ws.on("close", (code: number, reason: Buffer) => this.onSocketClose(ws, code, reason.toString()));
    this.opened();
  }

  private onSocketClose(ws: WebSocket, code: number, reason: string): void {
    if (this.socket !== ws || this.isClosing) return;
    this.socket = undefined;
    if (code === ABNORMAL_CLOSURE) {
      this.reconnectTimer = setTimeout(() => {
        void this.ended(`the frontend did not reconnect within ${this.reconnectWindowMs} ms`);
      }, this.reconnectWindowMs);
      this.reconnectTimer.unref();
      return;
    }
    if (code === MESSAGE_TOO_BIG) {
      const error = new Error(`the frontend sent a frame larger than ${this.maxFrameSize} bytes`);
      void this.ended(error.message, error);
      return;
    }
    void this.ended(`the frontend closed the connection (${code}${reason ? `: ${reason}` : ""})`);
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
