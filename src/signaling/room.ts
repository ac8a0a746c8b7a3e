/**
 * A signaling room, as the server keeps it: what the owner sends waits until the frontend
 * has joined, what the frontend sends waits (within a bound) until the owner listens, and
 * the room ends when its token expires unused, when it idles, or when either side leaves.
 */
import {
  MAX_MESSAGE_BYTES,
  utf8Length,
  type ErrorCode,
  type FrontendToOwnerMessage,
  type OwnerMessage,
  type ServerMessage,
} from "./schema.js";
import { createToken, digestToken } from "../core/tokens.js";

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

/** Frontend messages held for a room owner that has not subscribed yet. */
const MAX_INBOX = 256;

/** What a Room needs of the frontend's socket. */
export interface RoomSocket {
  sendMessage(msg: ServerMessage): void;
  sendText(text: string): void;
  fail(code: ErrorCode, message: string): void;
  closeNormally(reason: string): void;
  detach(): void;
}

/** What a Room needs from its server. */
export interface RoomHost {
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
  private socket: RoomSocket | null = null;
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
  attach(socket: RoomSocket): void {
    this._state = "joined";
    this.wasJoined = true;
    this.socket = socket;
    if (this.tokenTimer) clearTimeout(this.tokenTimer);
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
    if (this.tokenTimer) clearTimeout(this.tokenTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
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
    if (this.idleTimer) clearTimeout(this.idleTimer);
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
