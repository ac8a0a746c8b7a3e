/**
 * The frontend's side of the signaling protocol. Runs unchanged in browsers
 * and in Node: it uses only the W3C WebSocket API of the constructor it is
 * given (the browser's WebSocket, or `ws`'s in Node) and no Node API.
 */
import { DEFAULT_SIGNALING_JOIN_TIMEOUT_MS } from "../core/constants.js";
import {
  MAX_MESSAGE_BYTES,
  parseServerMessage,
  SignalingError,
  utf8Length,
  type FrontendMessage,
  type ServerMessage,
} from "./schema.js";

/** The part of the W3C WebSocket API the client uses; the DOM's and `ws`'s classes both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "error", listener: () => void): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (event: { code: number; reason: string }) => void): void;
}

/** A WebSocket class: `globalThis.WebSocket` in browsers, `WebSocket` from "ws" in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Options for connectSignaling. */
export interface ConnectSignalingOptions {
  /** The session to join. */
  sessionId: string;
  /** The room's one-time token. */
  token: string;
  /** The WebSocket class to use. */
  WebSocket: WebSocketConstructor;
  /** How long to wait for `joined` after starting to connect. Default 10,000 ms. */
  timeoutMs?: number;
}

/** How the signaling socket closed. */
export interface SignalingCloseInfo {
  code: number;
  reason: string;
  /** Set when the client itself closed because the server broke the protocol. */
  error?: string;
}

/** A joined signaling connection. */
export interface SignalingClient {
  /** Send a message; returns false if the socket is no longer open. Throws above 64 KiB. */
  send(msg: FrontendMessage): boolean;
  /** Receive server messages after `joined` (offer, candidate, bye, error); earlier ones are replayed in order. */
  onMessage(callback: (msg: ServerMessage) => void): void;
  /** Called once when the socket closes (at once, asynchronously, if it has). */
  onClose(callback: (info: SignalingCloseInfo) => void): void;
  /** Close the socket (normal closure by default). Idempotent. */
  close(code?: number, reason?: string): void;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<SignalingCloseInfo>;
}

/** WebSocket.OPEN; read as a number because the constructor passed in may not have the static. */
const OPEN = 1;
/** Close code the client uses when the server breaks the protocol. */
const CLOSE_POLICY = 1008;

/**
 * Open a WebSocket to `url`, send `join`, and resolve once the server answers
 * `joined`. Rejects with a SignalingError carrying the server's code and
 * message if the server refuses, or with code `timeout` / `closed` /
 * `connect-failed` / `bad-message` otherwise.
 */
export function connectSignaling(url: string, options: ConnectSignalingOptions): Promise<SignalingClient> {
  return new Promise<SignalingClient>((resolve, reject) => {
    let socket: WebSocketLike;
    try {
      socket = new options.WebSocket(url);
    } catch (error) {
      reject(new SignalingError("connect-failed", `cannot open signaling socket ${url}: ${describe(error)}`));
      return;
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_SIGNALING_JOIN_TIMEOUT_MS;
    const client = new WebSocketSignalingClient(socket, {
      joined: () => {
        clearTimeout(timer);
        resolve(client);
      },
      refused: (error) => {
        clearTimeout(timer);
        reject(error);
      },
    });
    const timer = setTimeout(() => {
      client.refuse(new SignalingError("timeout", `no "joined" from signaling server ${url} within ${timeoutMs} ms`));
      client.close();
    }, timeoutMs);
    socket.addEventListener("open", () => {
      client.sendRaw({ type: "join", sessionId: options.sessionId, token: options.token });
    });
  });
}

/** Callbacks for the join phase. */
interface JoinHooks {
  joined(): void;
  refused(error: SignalingError): void;
}

/** The SignalingClient over a W3C WebSocket. */
class WebSocketSignalingClient implements SignalingClient {
  readonly closed: Promise<SignalingCloseInfo>;
  private phase: "joining" | "joined" | "closing" | "closed" = "joining";
  private closeInfo: SignalingCloseInfo | null = null;
  private protocolError: string | undefined;
  private resolveClosed!: (info: SignalingCloseInfo) => void;
  private readonly inbox: ServerMessage[] = [];
  private flushScheduled = false;
  private readonly messageListeners: Array<(msg: ServerMessage) => void> = [];
  private readonly closeListeners: Array<(info: SignalingCloseInfo) => void> = [];
  private hooks: JoinHooks | null;

  constructor(private readonly socket: WebSocketLike, hooks: JoinHooks) {
    this.hooks = hooks;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    socket.addEventListener("message", (event) => this.handleData(event.data));
    socket.addEventListener("close", (event) => this.handleClose(event.code, event.reason));
    // Every "error" is followed by "close", which carries the code; nothing to do here.
    socket.addEventListener("error", () => undefined);
  }

  send(msg: FrontendMessage): boolean {
    if (this.phase !== "joined") return false;
    return this.sendRaw(msg);
  }

  /** Send without the joined check (used for `join` itself). */
  sendRaw(msg: FrontendMessage): boolean {
    const text = JSON.stringify(msg);
    if (utf8Length(text) > MAX_MESSAGE_BYTES) {
      throw new RangeError(`signaling message of type "${msg.type}" exceeds ${MAX_MESSAGE_BYTES} bytes`);
    }
    if (this.socket.readyState !== OPEN) return false;
    this.socket.send(text);
    return true;
  }

  onMessage(callback: (msg: ServerMessage) => void): void {
    this.messageListeners.push(callback);
    this.scheduleFlush();
  }

  onClose(callback: (info: SignalingCloseInfo) => void): void {
    const info = this.closeInfo;
    if (info) queueMicrotask(() => callback(info));
    else this.closeListeners.push(callback);
  }

  close(code = 1000, reason = "client closing"): void {
    if (this.phase === "closed") return;
    try {
      this.socket.close(code, reason);
    } catch {
      // Already closing, or a code the platform refuses: the close event still follows.
    }
  }

  /** End the join phase with an error (once). */
  refuse(error: SignalingError): void {
    const hooks = this.hooks;
    this.hooks = null;
    hooks?.refused(error);
  }

  private handleData(data: unknown): void {
    if (this.phase === "closing" || this.phase === "closed") return;
    const msg = this.decode(data);
    if (!msg) return;
    if (this.phase === "joining") {
      if (msg.type === "joined") {
        this.phase = "joined";
        const hooks = this.hooks;
        this.hooks = null;
        hooks?.joined();
        return;
      }
      if (msg.type === "error") {
        this.refuse(new SignalingError(msg.code, `signaling server refused the join: ${msg.message} (${msg.code})`));
        return;
      }
    }
    this.inbox.push(msg);
    this.scheduleFlush();
  }

  /** Parse and validate one server message; a broken server gets the socket closed on it. */
  private decode(data: unknown): ServerMessage | null {
    let problem: string;
    if (typeof data !== "string") problem = "the server sent a binary message";
    else {
      try {
        const parsed = parseServerMessage(JSON.parse(data));
        if (parsed.ok) return parsed.message;
        problem = `the server sent an invalid message: ${parsed.message}`;
      } catch {
        problem = "the server sent a message that is not JSON";
      }
    }
    // Nothing after a broken message can be trusted: stop reading and close.
    this.protocolError = problem;
    this.refuse(new SignalingError("bad-message", problem));
    this.close(CLOSE_POLICY, "bad-message");
    this.phase = "closing";
    return null;
  }

  private handleClose(code: number, reason: string): void {
    if (this.phase === "closed") return;
    this.phase = "closed";
    const info: SignalingCloseInfo = this.protocolError ? { code, reason, error: this.protocolError } : { code, reason };
    this.closeInfo = info;
    this.refuse(new SignalingError("closed", `signaling socket closed before joining (code ${code}${reason ? `, ${reason}` : ""})`));
    this.resolveClosed(info);
    // After a microtask, so that messages received just before reach the listeners first.
    const listeners = this.closeListeners.splice(0);
    queueMicrotask(() => {
      for (const listener of listeners) callSafely(() => listener(info));
    });
  }

  /** Deliver the inbox on a microtask so a callback never runs inside onMessage(). */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.messageListeners.length === 0 || this.inbox.length === 0) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      for (const msg of this.inbox.splice(0)) {
        for (const listener of this.messageListeners) callSafely(() => listener(msg));
      }
    });
  }
}

/** Run a user callback without letting its exception escape into the socket's event dispatch. */
function callSafely(callback: () => void): void {
  try {
    callback();
  } catch (error) {
    // One listener's bug must not stop the others or the client; make it visible.
    console.error("[bonito signaling client] listener threw:", error);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
