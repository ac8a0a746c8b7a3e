/**
 * The short-lived signaling server. The server peer lives in this process and
 * talks to its frontend through a Room; only the frontend connects over a
 * WebSocket. The server listens (or hooks its HTTP server's `upgrade`) only
 * while at least one room is pending, so it costs nothing between
 * negotiations, and the data channels it helped set up outlive it.
 * The protocol is specified in README.md, next to this file.
 */
import http from "node:http";
import type https from "node:https";
import tls from "node:tls";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import {
  CLOSE_NORMAL,
  ERROR_CLOSE_CODES,
  MAX_ID_LENGTH,
  MAX_MESSAGE_BYTES,
  parseFrontendMessage,
  utf8Length,
  type ErrorCode,
  type FrontendToOwnerMessage,
  type JoinMessage,
  type OwnerMessage,
  type ServerMessage,
} from "./schema.js";
import { createToken, digestToken, tokenMatches } from "../core/tokens.js";
import {
  DEFAULT_SIGNALING_IDLE_TIMEOUT_MS as DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_SIGNALING_PATH as DEFAULT_PATH,
  DEFAULT_TOKEN_TTL_MS,
} from "../core/constants.js";

/** Options shared by both modes. */
export interface CommonSignalingOptions {
  /** How long a room waits for its frontend to join before the token expires. Default 30,000 ms. */
  tokenTtlMs?: number;
  /** How long a new socket may take to send `join`. Default 5,000 ms. */
  joinTimeoutMs?: number;
  /** A joined room with no message either way for this long is ended. Default 30,000 ms. */
  idleTimeoutMs?: number;
  /** URL handed to frontends instead of the derived one (for proxies, TLS terminators, LAN names). */
  publicUrl?: string;
  /** Receives errors thrown by room callbacks and unexpected socket errors. Default: console.error. */
  onError?: (error: unknown) => void;
}

/** Listen on a port of our own. */
export interface StandaloneSignalingOptions extends CommonSignalingOptions {
  mode: "standalone";
  /** Default "127.0.0.1". */
  host?: string;
  /** Default 0: any free port, chosen again at each start. */
  port?: number;
}

/** Share an existing HTTP(S) server: handle its `upgrade` requests for one path only. */
export interface AttachedSignalingOptions extends CommonSignalingOptions {
  mode: "attached";
  httpServer: http.Server | https.Server;
  /** Default "/bonito-signaling". */
  path?: string;
}

/**
 * Be fed upgrades by someone else's router (what `WebRTCConnection` does under `serve()`):
 * `route` installs the handler while rooms are pending and returns its removal. Each room's
 * URL is given to {@link SignalingServer.openRoom}, since only the caller knows how the
 * frontend reaches the host.
 */
export interface RoutedSignalingOptions extends CommonSignalingOptions {
  mode: "routed";
  route(handler: (request: http.IncomingMessage, socket: Duplex, head: Buffer) => void): () => void;
}

/** Any mode. */
export type SignalingServerOptions = StandaloneSignalingOptions | AttachedSignalingOptions | RoutedSignalingOptions;

/** Where a room is in its life. */
export type RoomState = "waiting" | "joined" | "ended";

/** Why a room ended. */
export type RoomEndReason =
  | "closed" // by its owner, room.close()
  | "token-expired" // nobody joined within tokenTtlMs
  | "frontend-closed" // the frontend socket closed (or was closed for a protocol error)
  | "frontend-bye" // the frontend sent `bye`
  | "idle-timeout" // no message either way for idleTimeoutMs
  | "replaced" // the owner opened a new room for the same session
  | "server-closed"; // server.close()

const DEFAULT_JOIN_TIMEOUT_MS = 5_000;
/** Frames up to this size reach our own check (and get an `error` message); ws cuts larger ones off with 1009. */
const WS_MAX_PAYLOAD = 2 * MAX_MESSAGE_BYTES;
/** Frontend messages held for a room owner that has not subscribed yet. */
const MAX_INBOX = 256;
/** A refused socket that does not finish the close handshake in this time is dropped. */
const CLOSE_GRACE_MS = 1_000;

/** What a Room needs from its server. */
interface RoomHost {
  readonly idleTimeoutMs: number;
  report(error: unknown): void;
  roomEnded(room: Room): void;
}

/**
 * One pending negotiation between the in-process server peer (the owner) and
 * one frontend, bound to a session id and a one-time token. Created by
 * SignalingServer.openRoom.
 */
export class Room {
  /** The session this room negotiates for. */
  readonly sessionId: string;
  /** The one-time token the frontend must present in `join` (base64url, 256 bits). */
  readonly token: string;
  /** @internal SHA-256 of the token; the plain token is only kept for the owner to hand out. */
  readonly tokenDigest: Buffer;
  /** @internal Whether a frontend ever joined (a later join is then `token-used`). */
  wasJoined = false;

  private _url = "";
  private _state: RoomState = "waiting";
  private _endReason: RoomEndReason | null = null;
  private socket: FrontendSocket | null = null;
  private outbox: OwnerMessage[] = [];
  private inbox: FrontendToOwnerMessage[] = [];
  private flushScheduled = false;
  private readonly messageListeners: Array<(msg: FrontendToOwnerMessage) => void> = [];
  private readonly joinedListeners: Array<() => void> = [];
  private readonly closeListeners: Array<(reason: RoomEndReason) => void> = [];
  private tokenTimer: NodeJS.Timeout | null;
  private idleTimer: NodeJS.Timeout | null = null;

  /** @internal Only SignalingServer creates rooms. */
  constructor(sessionId: string, tokenTtlMs: number, private readonly host: RoomHost) {
    this.sessionId = sessionId;
    this.token = createToken();
    this.tokenDigest = digestToken(this.token);
    this.tokenTimer = setTimeout(() => this.end("token-expired"), tokenTtlMs);
  }

  /** Absolute ws:// or wss:// URL the frontend should connect to. */
  get url(): string {
    return this._url;
  }

  /** @internal Set by the server once it knows its address. */
  setUrl(url: string): void {
    this._url = url;
  }

  /** "waiting" for the frontend, "joined", or "ended". */
  get state(): RoomState {
    return this._state;
  }

  /** Why the room ended, or null while it is alive. */
  get endReason(): RoomEndReason | null {
    return this._endReason;
  }

  /**
   * Send a message to the frontend. Before the frontend joins, messages are
   * queued and delivered right after `joined`, so the owner may offer at once.
   * Returns false if the room has ended. Throws if the message exceeds 64 KiB.
   */
  send(msg: OwnerMessage): boolean {
    const text = JSON.stringify(msg);
    if (utf8Length(text) > MAX_MESSAGE_BYTES) {
      throw new RangeError(`signaling message of type "${msg.type}" exceeds ${MAX_MESSAGE_BYTES} bytes`);
    }
    if (this._state === "ended") return false;
    if (this._state === "waiting" || !this.socket) {
      this.outbox.push(msg);
      return true;
    }
    this.socket.sendText(text);
    this.touch();
    return true;
  }

  /** Receive the frontend's messages (answer, candidate, bye). Messages that arrived earlier are replayed in order. */
  onMessage(callback: (msg: FrontendToOwnerMessage) => void): void {
    this.messageListeners.push(callback);
    this.scheduleFlush();
  }

  /** Called once when a frontend has joined (at once, asynchronously, if it already has). */
  onFrontendJoined(callback: () => void): void {
    if (this.wasJoined) queueMicrotask(() => this.invoke(callback));
    else this.joinedListeners.push(callback);
  }

  /** Called once when the room ends, with the reason (at once, asynchronously, if it already has). */
  onClose(callback: (reason: RoomEndReason) => void): void {
    const reason = this._endReason;
    if (reason) queueMicrotask(() => this.invoke(() => callback(reason)));
    else this.closeListeners.push(callback);
  }

  /** End the room: the frontend socket (if any) is closed normally, the token becomes unusable. Idempotent. */
  close(): void {
    this.end("closed");
  }

  /** @internal A frontend presented the right token: bind it and flush queued messages. */
  attach(socket: FrontendSocket): void {
    this._state = "joined";
    this.wasJoined = true;
    this.socket = socket;
    clearTimer(this.tokenTimer);
    this.tokenTimer = null;
    socket.sendMessage({ type: "joined" });
    for (const msg of this.outbox) socket.sendMessage(msg);
    this.outbox = [];
    this.touch();
    const listeners = this.joinedListeners.splice(0);
    for (const listener of listeners) this.invoke(listener);
  }

  /** @internal A valid message from the joined frontend. */
  receive(msg: FrontendToOwnerMessage): void {
    if (this._state !== "joined") return;
    this.touch();
    if (this.inbox.length >= MAX_INBOX) {
      this.socket?.fail("too-many-messages", `more than ${MAX_INBOX} messages are waiting for the room owner`);
      return;
    }
    this.inbox.push(msg);
    this.scheduleFlush();
    if (msg.type === "bye") this.end("frontend-bye");
  }

  /** @internal The frontend socket closed or was refused after joining. */
  frontendGone(): void {
    this.socket = null;
    this.end("frontend-closed");
  }

  /** @internal End the room for `reason`; closes the frontend socket in the way that reason calls for. */
  end(reason: RoomEndReason): void {
    if (this._state === "ended") return;
    this._state = "ended";
    this._endReason = reason;
    clearTimer(this.tokenTimer);
    clearTimer(this.idleTimer);
    this.tokenTimer = this.idleTimer = null;
    this.outbox = [];
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.detach();
      if (reason === "idle-timeout") socket.fail("idle-timeout", "no signaling message either way for too long");
      else if (reason === "server-closed") socket.fail("server-closing", "the signaling server is shutting down");
      else socket.closeNormally(reason);
    }
    // After a microtask, so that messages received just before (a `bye`) reach the owner first.
    const listeners = this.closeListeners.splice(0);
    queueMicrotask(() => {
      for (const listener of listeners) this.invoke(() => listener(reason));
    });
    this.host.roomEnded(this);
  }

  /** Restart the idle timer: any message either way counts as activity. */
  private touch(): void {
    clearTimer(this.idleTimer);
    this.idleTimer = setTimeout(() => this.end("idle-timeout"), this.host.idleTimeoutMs);
  }

  /** Deliver the inbox to the listeners on a microtask, so a callback never runs inside onMessage(). */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.messageListeners.length === 0 || this.inbox.length === 0) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      const messages = this.inbox.splice(0);
      for (const msg of messages) {
        for (const listener of this.messageListeners) this.invoke(() => listener(msg));
      }
    });
  }

  /** Run an owner callback; its exceptions go to onError instead of into the socket's event handler. */
  private invoke(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.host.report(error);
    }
  }
}

/** What a FrontendSocket needs from its server. */
interface SocketHost {
  readonly joinTimeoutMs: number;
  join(socket: FrontendSocket, msg: JoinMessage): void;
  socketClosed(socket: FrontendSocket): void;
  report(error: unknown): void;
}

/** One frontend's WebSocket: parses and validates its messages and refuses bad input. */
class FrontendSocket {
  private state: "awaiting-join" | "joined" | "closing" | "closed" = "awaiting-join";
  private room: Room | null = null;
  private joinTimer: NodeJS.Timeout | null;
  private graceTimer: NodeJS.Timeout | null = null;

  constructor(private readonly ws: WebSocket, private readonly host: SocketHost) {
    ws.on("message", (data, isBinary) => this.guard(() => this.handleMessage(data, isBinary)));
    ws.on("close", () => this.guard(() => this.handleClose()));
    // ws emits "close" after every "error"; the listener only keeps the error from being thrown.
    ws.on("error", () => undefined);
    this.joinTimer = setTimeout(
      () => this.fail("join-timeout", `no join message within ${host.joinTimeoutMs} ms`),
      host.joinTimeoutMs,
    );
  }

  /** Bind to the room whose token this socket presented. */
  bind(room: Room): void {
    clearTimer(this.joinTimer);
    this.joinTimer = null;
    this.state = "joined";
    this.room = room;
    room.attach(this);
  }

  /** Forget the room (it is ending and will close us itself). */
  detach(): void {
    this.room = null;
  }

  /** Send one protocol message. */
  sendMessage(msg: ServerMessage): void {
    this.sendText(JSON.stringify(msg));
  }

  /** Send already-serialized JSON, if the socket is still open. */
  sendText(text: string): void {
    // Our state lags when the frontend starts the close; ws would then report an error.
    if (this.state === "closing" || this.state === "closed" || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(text, (error) => error && this.host.report(error));
  }

  /** Refuse: send `error` with a stable code, then close with that code's close code. */
  fail(code: ErrorCode, message: string): void {
    if (this.state === "closing" || this.state === "closed") return;
    this.sendMessage({ type: "error", code, message });
    this.beginClose(ERROR_CLOSE_CODES[code], code);
  }

  /** Close with 1000 after a normal end of the room; the reason is the room's end reason. */
  closeNormally(reason: string): void {
    if (this.state === "closing" || this.state === "closed") return;
    this.beginClose(CLOSE_NORMAL, reason);
  }

  /** Drop the connection at once (server shutdown). */
  terminate(): void {
    this.ws.terminate();
  }

  private beginClose(code: number, reason: string): void {
    this.state = "closing";
    clearTimer(this.joinTimer);
    this.joinTimer = null;
    const room = this.room;
    this.room = null;
    // Close reasons are limited to 123 bytes; ours are short ASCII codes.
    this.ws.close(code, reason.slice(0, 120));
    // ws would wait 30 s for a silent peer; do not keep the server up for it.
    this.graceTimer = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
    room?.frontendGone();
  }

  private handleMessage(data: RawData, isBinary: boolean): void {
    if (this.state === "closing" || this.state === "closed") return;
    if (isBinary) {
      this.fail("binary-message", "binary messages are not accepted; send JSON text");
      return;
    }
    const bytes = rawLength(data);
    if (bytes > MAX_MESSAGE_BYTES) {
      this.fail("too-large", `message is ${bytes} bytes; the limit is ${MAX_MESSAGE_BYTES}`);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(rawText(data));
    } catch {
      this.fail("bad-json", "message is not valid JSON");
      return;
    }
    const parsed = parseFrontendMessage(value);
    if (!parsed.ok) {
      this.fail(parsed.code, parsed.message);
      return;
    }
    const msg = parsed.message;
    if (this.state === "awaiting-join") {
      if (msg.type === "join") this.host.join(this, msg);
      else this.fail("not-joined", `the first message must be "join", got "${msg.type}"`);
      return;
    }
    if (msg.type === "join") {
      this.fail("already-joined", "this socket has already joined a room");
      return;
    }
    this.room?.receive(msg);
  }

  private handleClose(): void {
    this.state = "closed";
    clearTimer(this.joinTimer);
    clearTimer(this.graceTimer);
    this.joinTimer = this.graceTimer = null;
    const room = this.room;
    this.room = null;
    room?.frontendGone();
    this.host.socketClosed(this);
  }

  /** Event handlers must never throw into ws: report instead and drop the socket. */
  private guard(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.host.report(error);
      try {
        this.fail("internal", "internal signaling error");
      } catch {
        this.ws.terminate();
      }
    }
  }
}

/**
 * The signaling server. Create one per process (or per HTTP server) and call
 * openRoom() for each negotiation; it starts on the first room and stops when
 * no room is pending.
 */
export class SignalingServer {
  private readonly options: SignalingServerOptions;
  private readonly tokenTtlMs: number;
  /** Live rooms, and ended ones kept for a while so a late join gets a precise error. */
  private readonly rooms = new Map<string, Room>();
  private readonly sockets = new Set<FrontendSocket>();
  private wss: WebSocketServer | null = null;
  private listener: http.Server | null = null;
  private unroute: (() => void) | null = null;
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> = Promise.resolve();
  private readonly roomHost: RoomHost;
  private readonly socketHost: SocketHost;

  /** Configure; nothing listens until the first openRoom(). */
  constructor(options: SignalingServerOptions) {
    this.options = options;
    this.tokenTtlMs = options.tokenTtlMs ?? DEFAULT_TOKEN_TTL_MS;
    const report = (error: unknown) => this.report(error);
    this.roomHost = {
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      report,
      roomEnded: (room) => this.roomEnded(room),
    };
    this.socketHost = {
      joinTimeoutMs: options.joinTimeoutMs ?? DEFAULT_JOIN_TIMEOUT_MS,
      report,
      join: (socket, msg) => this.join(socket, msg),
      socketClosed: (socket) => this.sockets.delete(socket),
    };
  }

  /** Whether the server is started (listening, or hooked into its HTTP server's upgrades). */
  get listening(): boolean {
    return this.wss !== null;
  }

  /** The standalone listener's address while listening, else null. */
  get address(): AddressInfo | null {
    const address = this.listener?.address();
    return address && typeof address === "object" ? address : null;
  }

  /** Number of rooms that have not ended. */
  get pendingRooms(): number {
    let count = 0;
    for (const room of this.rooms.values()) if (room.state !== "ended") count++;
    return count;
  }

  /**
   * Open a room for `sessionId`, starting the server if needed. A live room
   * for the same session is ended ("replaced"): one negotiation per session.
   * `url` is the address frontends connect to for this room: required in
   * "routed" mode, and overrides the derived one in the others.
   */
  async openRoom(sessionId: string, options: { url?: string } = {}): Promise<Room> {
    if (typeof sessionId !== "string" || sessionId.length === 0 || sessionId.length > MAX_ID_LENGTH) {
      throw new TypeError(`sessionId must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
    }
    if (this.options.mode === "routed" && !options.url) {
      throw new TypeError("a routed signaling server needs the room's url: openRoom(sessionId, { url })");
    }
    // Fail before starting anything if an attached server cannot tell us its URL.
    if (this.options.mode === "attached") this.attachedUrl();
    // Register first so that the room counts as pending while the server starts,
    // and before ending a room it replaces, so that the server does not stop in between.
    const previous = this.rooms.get(sessionId);
    const room = new Room(sessionId, this.tokenTtlMs, this.roomHost);
    this.rooms.set(sessionId, room);
    previous?.end("replaced");
    try {
      await this.ensureStarted();
    } catch (error) {
      if (this.rooms.get(sessionId) === room) this.rooms.delete(sessionId);
      room.end("server-closed");
      throw error;
    }
    // A room ended meanwhile (replaced, or server.close()) is returned as is; its onClose tells why.
    if (room.state !== "ended") room.setUrl(options.url ?? this.roomUrl());
    return room;
  }

  /** End every room and stop. Resolves once stopped. The server may be used again afterwards. */
  async close(): Promise<void> {
    for (const room of [...this.rooms.values()]) room.end("server-closed");
    await this.whenStopped();
  }

  /** Resolves once a stop in progress (after the last room ended) has finished. */
  async whenStopped(): Promise<void> {
    await this.stopping;
  }

  private ensureStarted(): Promise<void> {
    // A start always waits for the previous stop, so the two never overlap.
    this.starting ??= this.stopping.then(() => this.start());
    return this.starting;
  }

  private async start(): Promise<void> {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD, clientTracking: false });
    const options = this.options;
    if (options.mode === "attached") {
      options.httpServer.on("upgrade", this.onUpgrade);
      return;
    }
    if (options.mode === "routed") {
      this.unroute = options.route(this.onUpgrade);
      return;
    }
    const listener = http.createServer((_req, res) => {
      res.writeHead(426, { "content-type": "text/plain", connection: "close" });
      res.end("bonito signaling: WebSocket only\n");
    });
    listener.on("upgrade", this.onUpgrade);
    listener.on("clientError", (_error, socket) => socket.destroy());
    this.listener = listener;
    await new Promise<void>((resolve, reject) => {
      listener.once("error", reject);
      listener.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
        listener.off("error", reject);
        resolve();
      });
    });
    // Errors after listening (rare) must not crash the process.
    listener.on("error", (error) => this.report(error));
  }

  private async stop(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    this.sockets.clear();
    const wss = this.wss;
    this.wss = null;
    wss?.close();
    if (this.options.mode === "attached") {
      this.options.httpServer.off("upgrade", this.onUpgrade);
      return;
    }
    if (this.options.mode === "routed") {
      this.unroute?.();
      this.unroute = null;
      return;
    }
    const listener = this.listener;
    this.listener = null;
    if (listener?.listening) {
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      listener.closeAllConnections();
      await closed;
    }
  }

  /** Stop once the last pending room has ended. */
  private roomEnded(room: Room): void {
    // Keep the ended room for one token lifetime so a late join learns why it is refused.
    setTimeout(() => {
      if (this.rooms.get(room.sessionId) === room) this.rooms.delete(room.sessionId);
    }, this.tokenTtlMs).unref();
    if (this.pendingRooms > 0 || !this.starting) return;
    const started = this.starting;
    this.starting = null;
    this.stopping = started.then(
      () => this.stop(),
      () => this.stop(),
    );
  }

  private readonly onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    try {
      if (this.options.mode === "attached" && pathOf(req.url) !== (this.options.path ?? DEFAULT_PATH)) {
        return; // another handler's path: leave it alone
      }
      const wss = this.wss;
      if (!wss) {
        socket.destroy();
        return;
      }
      socket.on("error", () => undefined);
      wss.handleUpgrade(req, socket, head, (ws) => {
        this.sockets.add(new FrontendSocket(ws, this.socketHost));
      });
    } catch (error) {
      this.report(error);
      socket.destroy();
    }
  };

  /** Check a join against the session's room and bind the socket, or refuse it. */
  private join(socket: FrontendSocket, msg: JoinMessage): void {
    const room = this.rooms.get(msg.sessionId);
    if (!room) {
      socket.fail("unknown-session", "no signaling room is open for this session");
      return;
    }
    if (!tokenMatches(room.tokenDigest, msg.token)) {
      // A wrong guess does not end the room: the owner's frontend may still come.
      socket.fail("bad-token", "the token does not match this session's room");
      return;
    }
    if (room.wasJoined) {
      socket.fail("token-used", "this token has already been used");
      return;
    }
    if (room.state === "ended") {
      if (room.endReason === "token-expired") socket.fail("token-expired", "the token expired before it was used");
      else socket.fail("room-closed", "the room was closed before anyone joined");
      return;
    }
    socket.bind(room);
  }

  private roomUrl(): string {
    if (this.options.publicUrl) return this.options.publicUrl;
    if (this.options.mode === "attached") return this.attachedUrl();
    if (this.options.mode === "routed") throw new Error("a routed signaling server has no URL of its own");
    const address = this.address;
    if (!address) throw new Error("signaling server is not listening");
    return `ws://${hostForUrl(address.address)}:${address.port}/`;
  }

  private attachedUrl(): string {
    if (this.options.mode !== "attached") throw new Error("not attached");
    if (this.options.publicUrl) return this.options.publicUrl;
    const address = this.options.httpServer.address();
    if (!address || typeof address === "string") {
      throw new Error("the attached HTTP server is not listening on a TCP port; listen first or pass publicUrl");
    }
    const scheme = this.options.httpServer instanceof tls.Server ? "wss" : "ws";
    return `${scheme}://${hostForUrl(address.address)}:${address.port}${this.options.path ?? DEFAULT_PATH}`;
  }

  private report(error: unknown): void {
    try {
      (this.options.onError ?? defaultReport)(error);
    } catch {
      // A failing reporter must not take the server down either.
    }
  }
}

function defaultReport(error: unknown): void {
  console.error("[bonito signaling]", error);
}

/** The path of a request URL, without its query. */
function pathOf(url: string | undefined): string {
  const value = url ?? "/";
  const query = value.indexOf("?");
  return query === -1 ? value : value.slice(0, query);
}

/** A host for a URL: unspecified addresses become loopback, IPv6 gets brackets. */
function hostForUrl(address: string): string {
  if (address === "0.0.0.0") return "127.0.0.1";
  if (address === "::") return "[::1]";
  return address.includes(":") ? `[${address}]` : address;
}

function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, chunk) => sum + chunk.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.isBuffer(data) ? data.toString("utf8") : Buffer.from(data).toString("utf8");
}

function clearTimer(timer: NodeJS.Timeout | null): void {
  if (timer) clearTimeout(timer);
}
