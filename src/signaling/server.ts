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
import { WebSocketServer } from "ws";
import { MAX_ID_LENGTH, MAX_MESSAGE_BYTES, type JoinMessage } from "./schema.js";
import { Room, type RoomHost } from "./room.js";
import { FrontendSocket, rawLength, rawText, type SocketHost } from "./frontend-socket.js";
import { tokenMatches } from "../core/tokens.js";
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

export type { Room, RoomState, RoomEndReason } from "./room.js";

const DEFAULT_JOIN_TIMEOUT_MS = 5_000;
/** Frames up to this size reach our own check (and get an `error` message); ws cuts larger ones off with 1009. */
const WS_MAX_PAYLOAD = 2 * MAX_MESSAGE_BYTES;

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
