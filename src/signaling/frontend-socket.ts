/**
 * One frontend's signaling WebSocket, on the server: reads and validates each message
 * (size, JSON, schema), expects `join` first and in time, refuses bad input with an error
 * code, and hands valid messages to the room it joined.
 */
import type { RawData, WebSocket } from "ws";
import {
  CLOSE_NORMAL,
  ERROR_CLOSE_CODES,
  MAX_MESSAGE_BYTES,
  parseFrontendMessage,
  type ErrorCode,
  type JoinMessage,
  type ServerMessage,
} from "./schema.js";
import type { Room, RoomSocket } from "./room.js";

/** A refused socket that does not finish the close handshake in this time is dropped. */
const CLOSE_GRACE_MS = 1_000;

/** What a FrontendSocket needs from its server. */
export interface SocketHost {
  readonly joinTimeoutMs: number;
  join(socket: FrontendSocket, msg: JoinMessage): void;
  socketClosed(socket: FrontendSocket): void;
  report(error: unknown): void;
}

/** One frontend's WebSocket: parses and validates its messages and refuses bad input. */
export class FrontendSocket implements RoomSocket {
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
    if (this.joinTimer) clearTimeout(this.joinTimer);
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
    if (this.joinTimer) clearTimeout(this.joinTimer);
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
    if (this.joinTimer) clearTimeout(this.joinTimer);
    if (this.graceTimer) clearTimeout(this.graceTimer);
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

/** Bytes of a message as ws delivers it (one buffer, fragments, or an ArrayBuffer). */
export function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, chunk) => sum + chunk.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

/** A message as ws delivers it, as UTF-8 text. */
export function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.isBuffer(data) ? data.toString("utf8") : Buffer.from(data).toString("utf8");
}
