/**
 * The default connection: one WebSocket per session on the host's HTTP server, at
 * `/bonito-ws/<session id>?secret=<secret>`. A clean close ends the session at once; an
 * abnormal drop keeps it for `reconnectWindowMs` so the frontend can come back under the
 * same id, with messages queued on both sides meanwhile.
 *
 * The session id names the socket; the secret, random per session and handed only to the
 * page (or the Node frontend's bootstrap), is what lets a socket in: a socket without it is
 * refused with 403 and the page's socket is left alone. A frame above `maxFrameSize`, or any
 * other breach of the WebSocket protocol, ends the session at once.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket, type RawData } from "ws";
import { createToken, digestToken, tokenMatches } from "../core/tokens.js";
import { DEFAULT_MAX_FRAME_SIZE, DEFAULT_RECONNECT_WINDOW_MS, WEBSOCKET_PATH_PREFIX } from "../core/constants.js";
import { FrontendConnection, type BrowserAsset, type ConnectionBootstrap, type ConnectionHost } from "../session/connection.js";
import type { Session } from "../session/session.js";
import { webSocketUrl } from "../core/urls.js";

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
/**
 * Reading from the socket pauses while frames of more than this many bytes wait to be
 * processed, so a client that sends faster than its frames decode is slowed down (TCP
 * backpressure) instead of piling frames up in memory.
 */
const PAUSE_READING_ABOVE = 1024 * 1024;
/** The query parameter that carries the session's secret. */
const SECRET_PARAMETER = "secret";

export class WebSocketConnection extends FrontendConnection {
  readonly type = "websocket";
  private readonly frameLimit: number;
  private readonly reconnectWindowMs: number;
  private server: WebSocketServer | undefined;
  private socket: WebSocket | undefined;
  private unroute: (() => void) | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  /** The socket's path relative to the app (the page resolves it against its own address). */
  private relativePath = "";
  private readonly secret = createToken();
  private readonly secretDigest = digestToken(this.secret);

  constructor(options: WebSocketConnectionOptions = {}) {
    super();
    this.frameLimit = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    this.reconnectWindowMs = options.reconnectWindowMs ?? DEFAULT_RECONNECT_WINDOW_MS;
  }

  protected async prepare(session: Session, host: ConnectionHost): Promise<WebSocketBootstrap> {
    this.relativePath = `${WEBSOCKET_PATH_PREFIX.slice(1)}${session.id}`;
    const server = new WebSocketServer({ noServer: true, maxPayload: this.frameLimit });
    this.server = server;
    this.unroute = host.routeUpgrade(`${host.basePath}${this.relativePath}`, (request, socket, head) => {
      if (this.isClosing) return void socket.destroy();
      if (!this.hasSecret(request)) return refuse(socket, 403, "Forbidden");
      server.handleUpgrade(request, socket, head, (ws) => this.accept(ws, socket, head.byteLength));
    });
    return { type: "websocket", url: webSocketUrl(host.baseUrl, this.socketPath) };
  }

  /** Refuse sockets from now on (the route goes; a socket already open stays). */
  protected stopAccepting(): void {
    this.unroute?.();
    this.unroute = undefined;
  }

  /** The socket's path, relative to the app, with the secret that lets it in. */
  protected get socketPath(): string {
    return `${this.relativePath}?${SECRET_PARAMETER}=${this.secret}`;
  }

  private hasSecret(request: IncomingMessage): boolean {
    const given = new URL(request.url ?? "/", "http://host").searchParams.get(SECRET_PARAMETER);
    return given !== null && tokenMatches(this.secretDigest, given);
  }

  override browserAssets(): BrowserAsset[] {
    return [{ name: "websocket.js", file: new URL("../../browser/websocket.js", import.meta.url) }];
  }

  setupConnection(session: Session): string {
    // The page resolves the path against its own location, so a proxy in front still works.
    return `BonitoWebSocket.connect(${JSON.stringify(this.socketPath)}, Bonito, ${session.compressionEnabled});`;
  }

  override get maxFrameSize(): number {
    return this.frameLimit;
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

  protected async doClose(reason = "session closed"): Promise<void> {
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
        socket.close(1000, closeFrameReason(reason));
      });
    } else socket?.terminate();
    this.server?.close();
    this.server = undefined;
  }

  /** A frontend (re)connected with the session's secret: it replaces any previous socket of this session. */
  private accept(ws: WebSocket, raw: Duplex, headBytes: number): void {
    const previous = this.socket;
    this.socket = ws;
    previous?.terminate();
    this.clearReconnectTimer();
    // Bytes of the message being received: counted before `ws` parses each chunk (which
    // emits any message it completes), reset by that message.
    let unfinished = headBytes;
    raw.prependListener("data", (chunk: Buffer) => {
      if (this.socket !== ws) return;
      unfinished += chunk.byteLength;
      this.holdingInbound(unfinished);
    });
    let waiting = 0;
    ws.on("message", (data: RawData, isBinary: boolean) => {
      unfinished = 0;
      this.holdingInbound(0);
      if (!isBinary) {
        void this.ended("the frontend sent a text frame; Bonito frames are binary", new Error("text frame"));
        return;
      }
      const frame = toUint8Array(data);
      waiting += frame.byteLength;
      if (waiting > PAUSE_READING_ABOVE) ws.pause();
      void this.deliver(frame).finally(() => {
        waiting -= frame.byteLength;
        if (waiting <= PAUSE_READING_ABOVE) ws.resume();
      });
    });
    ws.on("error", (error: Error & { code?: string }) => {
      // A breach of the WebSocket protocol (a frame above maxPayload, a bad opcode, an
      // unmasked frame...): `ws` answers with a close frame, but a hostile client need not
      // answer it. End the session now instead of waiting it out as a dropped link.
      if (typeof error.code === "string" && error.code.startsWith("WS_ERR_")) this.protocolBreach(ws, error);
      // Otherwise the network failed; 'close' follows with the code that decides what happens.
    });
    ws.on("close", (code: number, reason: Buffer) => this.onSocketClose(ws, code, reason.toString()));
    this.opened();
  }

  private protocolBreach(ws: WebSocket, error: Error & { code?: string }): void {
    if (this.socket !== ws) return;
    this.socket = undefined;
    // `ws` has sent its close frame (1009 for a frame too large); give it a moment to leave.
    setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_MS).unref();
    const problem =
      error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"
        ? new Error(`the frontend sent a frame larger than maxFrameSize (${this.frameLimit} bytes); closed with 1009`)
        : new Error(`the frontend broke the WebSocket protocol: ${error.message}`);
    void this.ended(problem.message, problem);
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
      const error = new Error(`the frontend sent a frame larger than maxFrameSize (${this.frameLimit} bytes); closed with 1009`);
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

/** A close frame carries at most 123 bytes of reason: cut on a character boundary. */
function closeFrameReason(reason: string): string {
  let cut = reason;
  while (Buffer.byteLength(cut) > 123) cut = cut.slice(0, -1);
  return cut;
}

/** Answers an upgrade with an HTTP error and closes the socket. */
function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** `ws` hands over a Buffer, an ArrayBuffer or fragments depending on settings; the session wants one Uint8Array. */
function toUint8Array(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
