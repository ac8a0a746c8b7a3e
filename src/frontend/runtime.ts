/**
 * The frontend half of a Bonito session, without DOM: message processing, observables,
 * the send queue and the connection contract. The browser runtime (`window.Bonito`) and
 * the Node frontend (`connectFrontend`) are both this class; only how JavaScript is
 * evaluated and how bytes travel differ.
 *
 * Method names follow Bonito v5's JS (`on_connection_open`, `process_message`, ...) so
 * that a connection's glue code runs against this runtime and against Bonito's own.
 */
import { Observable } from "../core/observable.js";
import type { Logger } from "../core/logger.js";
import { DEFAULT_PING_INTERVAL_MS } from "../core/constants.js";
import { fromBase64 } from "../core/base64.js";
import {
  MessageType,
  CacheKey,
  JSCode,
  ObservableRef,
  TrackingOnly,
  encodeClientFrame,
  decodeInitFrame,
  decodeServerEnvelope,
  isPlainObject,
  type BonitoMessage,
  type SessionCache,
} from "../protocol/index.js";
import { ConnectionState, type ConnectionStatus, type StatusListener } from "./connection-state.js";
import { FrontendSessions } from "./sessions.js";

export type { ConnectionStatus, StatusListener } from "./connection-state.js";

/** The connection's send function: returns something other than false/undefined on success. */
export type SendFunction = (bytes: Uint8Array) => unknown;

/**
 * A session's initial frame as `init_session` takes it: bytes (Bonito's layout, an array of
 * messages, or a single message), base64 text of them, nothing, or a promise of any of these
 * (Bonito's pages pass `Bonito.fetch_binary(url)`).
 */
export type InitData = Uint8Array | ArrayBuffer | string | null | undefined;

/** How sub-session HTML gets into the page (the browser has one; a Node frontend has none). */
export interface FrontendDom {
  /** The element whose `data-jscall-id` is `selector`, once it exists. */
  findNode(selector: string): Promise<unknown>;
  /** Puts `html` (a DomNode, RawHtml or string) in place of `node` (`replace`) or into it. */
  update(node: unknown, html: unknown, replace: boolean): void;
}

export interface RuntimeOptions {
  /**
   * Runs a JSCode payload and returns what the code returns (an OnjsCallback's code returns
   * the callback). Defaults to `new Function("__lookup_interpolated", "Bonito", source)`, as
   * Bonito runs it.
   */
  evaluate?: (code: JSCode, runtime: BonitoRuntime) => unknown;
  /** Interval of keep-alive pings to the server while open. */
  pingIntervalMs?: number;
  /** Where a throwing observable listener is reported. Default `console`. */
  logger?: Logger;
  /** Where UpdateSession puts sub-session HTML; without it only the sub-session's messages run. */
  dom?: FrontendDom;
}


/** Traffic counters of a runtime, and what carries them, for status displays. */
export interface RuntimeStats {
  framesSent: number;
  bytesSent: number;
  framesReceived: number;
  bytesReceived: number;
  /** The transport that carries the session (`"webrtc"`, `"websocket"`, …), once the connection said so. */
  transport?: string;
  /** Why the connection fell back to `transport`, when it did (e.g. WebRTC could not connect). */
  fallbackReason?: string;
}

export class BonitoRuntime {
  /** Frames and bytes that crossed the connection (encoded sizes). */
  readonly stats: RuntimeStats = { framesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0 };
  /** Bonito's `Sessions` namespace, as connection glue calls it after a reconnect. */
  readonly Sessions = {
    /** Tells the server again that every initialized session is loaded (after a reconnect). */
    reannounce_initialized_sessions: (): void => {
      for (const id of this.sessions.initializedSessions()) this.sendDoneLoading(id, null);
    },
  };
  /** The sessions this frontend hosts (the root and its sub-sessions) and the objects each tracks. */
  private readonly sessions = new FrontendSessions();

  private sessionId: string | undefined;
  private compression = false;
  private readonly connection = new ConnectionState();
  /** The transport is open: messages go out now (the session may not be ready yet). */
  private linkOpen = false;
  private sendFunction: SendFunction | undefined;
  private queue: BonitoMessage[] = [];
  private readonly observables = new Map<string, Observable<any>>();
  private readonly errorListeners = new Set<(error: Error) => void>();
  private loading: Promise<void> = Promise.resolve();
  private pingTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly pingIntervalMs: number;
  private readonly evaluate: (code: JSCode, runtime: BonitoRuntime) => unknown;
  private readonly logger: Logger;
  private readonly dom: FrontendDom | undefined;

  constructor(options: RuntimeOptions = {}) {
    this.pingIntervalMs = options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
    this.evaluate = options.evaluate ?? BonitoRuntime.defaultEvaluate;
    this.logger = options.logger ?? console;
    this.dom = options.dom;
  }

  /** Bonito's way of running server-sent code: a function of the interpolation lookup and `Bonito`. */
  static defaultEvaluate(code: JSCode, runtime: BonitoRuntime): unknown {
    const interpolated = (code.interpolated ?? {}) as Record<string | number, unknown>;
    const lookup = (key: string | number) => interpolated[key];
    // eslint-disable-next-line no-new-func -- evaluating server-sent code is the point of EvalJavascript
    return new Function("__lookup_interpolated", "Bonito", code.source)(lookup, runtime);
  }

  /**
   * Bootstrap a session, as Bonito's `init_session`: register the initial frame's objects, run
   * its messages in order, then tell the server the session is loaded (JSDoneLoading, sent
   * once the connection is open). A failure is reported in that JSDoneLoading. Bytes at hand
   * are processed at once, so the page's scripts see the initial values; a promise is waited
   * for in order with the other frames. The returned promise settles when it is done.
   */
  init_session(sessionId: string, init: InitData | PromiseLike<InitData>, kind: "root" | "sub" = "root", compression = false): Promise<void> {
    if (kind === "root") {
      this.sessionId = sessionId;
      this.compression = compression;
    }
    this.sessions.ensure(sessionId, kind);
    if (isPromiseLike(init)) {
      return this.lock_loading(async () => this.initFrom(sessionId, await init, compression));
    }
    this.initFrom(sessionId, init, compression);
    return Promise.resolve();
  }

  private initFrom(sessionId: string, init: InitData, compression: boolean): void {
    let messages: BonitoMessage[] = [];
    try {
      const bytes = typeof init === "string" ? fromBase64(init) : init instanceof ArrayBuffer ? new Uint8Array(init) : init;
      if (bytes && bytes.byteLength > 0) {
        this.countReceived(bytes);
        const frame = decodeInitFrame(bytes, compression);
        this.register(frame.caches);
        messages = frame.messages;
      }
    } catch (error) {
      this.sendDoneLoading(sessionId, error);
      return;
    }
    this.initFromMessages(sessionId, messages);
  }

  /** Runs a session's initial messages, then reports it loaded (Bonito's `init_session_from_msgs`). */
  private initFromMessages(sessionId: string, messages: readonly BonitoMessage[]): void {
    for (const message of messages) this.process_message(message);
    if (!this.sessions.has(sessionId)) {
      // Freed while it initialized: the server still waits for an answer.
      this.sendDoneLoading(sessionId, new Error("Session deleted before initialization completed"));
      return;
    }
    this.sessions.markInitialized(sessionId);
    this.sendDoneLoading(sessionId, null);
  }

  /** The session this runtime serves, once `init_session` ran. */
  get session_id(): string | undefined {
    return this.sessionId;
  }

  /**
   * Call on every (re)open of the transport: flushes queued messages in order (the
   * JSDoneLoading handshake first). The status turns `open` only when the server's next
   * frame arrives, which the server sends as soon as the session is ready.
   */
  on_connection_open(send: SendFunction, compressionEnabled: boolean, enablePings = true): void {
    if (this.connection.status === "closed") return;
    this.sendFunction = send;
    this.compression = compressionEnabled;
    this.linkOpen = true;
    const pending = this.queue;
    this.queue = [];
    for (const message of pending) this.send_to_julia(message);
    if (enablePings && this.linkOpen) this.schedulePing();
  }

  /** The link is down but may come back: new messages queue meanwhile. */
  on_connection_connecting(): void {
    if (this.connection.status === "closed") return;
    this.linkOpen = false;
    this.stopPings();
    this.connection.set("connecting");
  }

  /** The connection gave up for good; `reason` says why (shown to status listeners and waiters). */
  on_connection_close(reason?: string): void {
    if (this.connection.status === "closed") return;
    this.linkOpen = false;
    this.stopPings();
    this.connection.set("closed", reason ?? "connection closed");
  }

  /** The connection says which transport carries the session (and why it fell back, if it did). */
  set_transport(transport: string, fallbackReason?: string): void {
    this.stats.transport = transport;
    if (fallbackReason === undefined) delete this.stats.fallbackReason;
    else this.stats.fallbackReason = fallbackReason;
  }

  /** Current connection status. */
  connection_status(): ConnectionStatus {
    return this.connection.status;
  }

  /** Why the connection closed; undefined while it has not. */
  close_reason(): string | undefined {
    return this.connection.closeReason;
  }

  /** Be told of every status change (with the reason, for `closed`). Returns an unsubscribe function. */
  on_status_change(listener: StatusListener): () => void {
    return this.connection.onChange(listener);
  }

  /** Be told of errors raised while processing server messages. Returns an unsubscribe function. */
  on_error(listener: (error: Error) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /**
   * Resolves once connected end to end: the transport is open and the server's session
   * is ready. Rejects, with the reason, if the connection closes first.
   */
  wait_for_connection(): Promise<void> {
    return this.connection.whenOpen();
  }

  /**
   * Decode one frame from the server into a message. As in Bonito, decoding registers the
   * objects of the frame's session cache: observables get their value without a change event.
   */
  decode_binary(bytes: Uint8Array | ArrayBuffer, compression: boolean = this.compression): BonitoMessage {
    const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    this.countReceived(view);
    const frame = decodeServerEnvelope(view, compression);
    this.register(frame.caches);
    this.frameArrived();
    return frame.message;
  }

  /**
   * A frame over an open link means the session is ready (the server sends none before).
   * Reported once the frame has been processed: decoding and processing run in one task.
   */
  private frameArrived(): void {
    if (!this.linkOpen || this.connection.status !== "connecting") return;
    queueMicrotask(() => {
      if (this.linkOpen && this.connection.status === "connecting") this.connection.set("open");
    });
  }

  private countReceived(bytes: Uint8Array): void {
    this.stats.framesReceived++;
    this.stats.bytesReceived += bytes.byteLength;
  }

  /** Registers what the caches introduce, for the sessions that sent them. */
  private register(caches: readonly SessionCache[]): void {
    for (const cache of caches) {
      this.sessions.ensure(cache.sessionId, cache.sessionType);
      for (const object of cache.objects) {
        if (object instanceof ObservableRef) {
          this.mirror(object.id, object.value).register(object.value);
          this.sessions.track(cache.sessionId, cache.sessionType, object.id);
        } else if (object instanceof TrackingOnly) {
          this.sessions.track(cache.sessionId, cache.sessionType, object.key);
        }
      }
    }
  }

  /** Run `task` after every earlier one finished, so messages are processed one at a time, in order. */
  lock_loading(task: () => unknown): Promise<void> {
    const run = this.loading.then(task).then(
      () => undefined,
      (error: unknown) => this.fail(error, "while processing a message from the server"),
    );
    this.loading = run;
    return run;
  }

  /** Apply one message from the server. */
  process_message(message: BonitoMessage): void {
    try {
      switch (message.msg_type) {
        case MessageType.UpdateObservable:
          this.mirror(message.id as string, message.payload).receive(message.payload);
          return;
        case MessageType.OnjsCallback:
          this.registerCallback(message);
          return;
        case MessageType.EvalJavascript:
          this.run(message.payload as JSCode);
          return;
        case MessageType.FusedMessage:
          (message.payload as BonitoMessage[]).forEach((m) => this.process_message(m));
          return;
        case MessageType.PingPong:
          return;
        case MessageType.UpdateSession:
          this.updateSession(message);
          return;
        default:
          throw new Error(`unsupported message type "${message.msg_type}" from the server`);
      }
    } catch (error) {
      this.fail(error, `while processing message type ${message.msg_type}`);
    }
  }

  /** The page-side mirror of the server observable `id`. */
  observable<T = unknown>(id: string): Observable<T> {
    return this.mirror(id, undefined) as Observable<T>;
  }

  /** The cached object under `key` (an observable), or null: Bonito's `lookup_global_object`. */
  lookup_global_object(key: string): Observable<any> | null {
    return this.observables.get(key) ?? null;
  }

  /**
   * Forget session `id` and the objects only it used: the server calls this (EvalJavascript
   * `Bonito.free_session(id)`) once it closed a sub-session.
   */
  free_session(id: string): Promise<void> {
    return this.lock_loading(() => {
      for (const key of this.sessions.free(id)) this.observables.delete(key);
    });
  }

  /**
   * A sub-session's content left the page: ask the server to close it (CloseSession with
   * `subsession: "delete"`, as Bonito does). Only sub-sessions that finished loading are
   * closed, each once; the server then frees it here.
   */
  close_session(id: string): void {
    if (this.sessions.takeClosable(id)) this.send_close_session(id, "delete");
  }

  /** Sub-sessions that the page may close by removing their content. */
  closable_sessions(): string[] {
    return this.sessions.closableSessions();
  }

  /** Fetches bytes, as Bonito's `fetch_binary` (its pages pass the result to `init_session`). */
  async fetch_binary(url: string): Promise<ArrayBuffer> {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP error, status = ${response.status}`);
    return response.arrayBuffer();
  }

  /** Runs server-sent code with its interpolated objects resolved; returns what the code returns. */
  private run(code: JSCode): unknown {
    const interpolated = Array.isArray(code.interpolated)
      ? code.interpolated.map((value) => this.resolve(value))
      : Object.fromEntries(Object.entries(code.interpolated).map(([key, value]) => [key, this.resolve(value)]));
    return this.evaluate(new JSCode(code.source, interpolated, code.file), this);
  }

  /** Cache references in server-sent values stand for the objects themselves, as Bonito's decoder returns them. */
  private resolve(value: unknown, depth = 0): unknown {
    if (value instanceof CacheKey || value instanceof TrackingOnly) return this.lookup_global_object(value.key);
    if (value instanceof ObservableRef) return this.mirror(value.id, value.value);
    if (depth > 32) return value;
    if (Array.isArray(value)) return value.map((v) => this.resolve(v, depth + 1));
    if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v, depth + 1)]));
    return value;
  }

  /** OnjsCallback: run the code, which returns a function, and call it on every change of the observable. */
  private registerCallback(message: BonitoMessage): void {
    const observable = this.resolve(message.obs);
    if (!(observable instanceof Observable)) throw new Error(`OnjsCallback names an unknown observable`);
    const callback = this.run(message.payload as JSCode);
    if (typeof callback !== "function") throw new Error(`OnjsCallback code must return a function, got ${typeof callback}`);
    // As in Bonito, a callback that returns false is removed.
    const off = observable.on((value) => {
      if (callback(value) === false) off();
    });
  }

  /**
   * UpdateSession: a sub-session's content and initial messages. The content goes where the
   * page's element with `data-jscall-id` = `dom_node_selector` is; then the messages run and
   * the sub-session reports loaded. Without a DOM, only the messages run.
   */
  private updateSession(message: BonitoMessage): void {
    const id = message.session_id as string;
    const messages = message.messages as BonitoMessage[];
    this.sessions.ensure(id, "sub");
    const dom = this.dom;
    if (!dom) {
      this.initFromMessages(id, messages);
      return;
    }
    dom
      .findNode(message.dom_node_selector as string)
      .then((node) =>
        this.lock_loading(() => {
          dom.update(node, message.html, message.replace as boolean);
          this.initFromMessages(id, messages);
        }),
      )
      .catch((error: unknown) => this.sendDoneLoading(id, error));
  }

  /** Send a message to the server now, or queue it until the connection is open. */
  send_to_julia(message: BonitoMessage): void {
    if (!this.linkOpen || !this.sendFunction) {
      this.queue.push(message);
      return;
    }
    const frame = encodeClientFrame(message, this.compression);
    const sent = this.sendFunction(frame);
    if (sent !== false && sent !== undefined) {
      this.stats.framesSent++;
      this.stats.bytesSent += frame.byteLength;
    } else {
      // The transport refused: keep the message for the next open instead of dropping it.
      this.queue.push(message);
      this.on_connection_connecting();
    }
  }

  /** Report an error to the server (JavascriptError). */
  send_error(message: string, error: unknown): void {
    const exception = error instanceof Error ? error : new Error(String(error));
    this.send_to_julia({
      msg_type: MessageType.JavascriptError,
      message,
      exception: String(exception),
      stacktrace: exception.stack ?? "",
    });
  }

  /** Report a warning to the server (JavascriptWarning). */
  send_warning(message: string): void {
    this.send_to_julia({ msg_type: MessageType.JavascriptWarning, message });
  }

  /**
   * Ask the server to close a session. Without arguments: this frontend is gone for good and
   * the server ends the root session. With a sub-session id and `"delete"`: that sub-session
   * only (Bonito's `send_close_session`).
   */
  send_close_session(session: string = this.sessionId ?? "", subsession = ""): void {
    this.send_to_julia({ msg_type: MessageType.CloseSession, session, subsession });
  }

  /** Stop timers; the runtime sends nothing more. */
  dispose(): void {
    this.on_connection_close("closed by the frontend");
  }

  private mirror(id: string, initial: unknown): Observable<any> {
    let observable = this.observables.get(id);
    if (!observable) {
      observable = new Observable<unknown>(
        id,
        initial,
        async (oid, value) => {
          this.send_to_julia({ msg_type: MessageType.UpdateObservable, id: oid, payload: value });
        },
        this.logger,
      );
      this.observables.set(id, observable);
    }
    return observable;
  }

  /** JSDoneLoading for `session`: loaded, or failed with `error` (Bonito's `send_done_loading`). */
  private sendDoneLoading(session: string, error: unknown): void {
    const failure = error === null ? null : error instanceof Error ? error : new Error(String(error));
    this.send_to_julia({
      msg_type: MessageType.JSDoneLoading,
      session,
      message: "",
      exception: failure === null ? "nothing" : String(failure),
      stacktrace: failure === null ? "" : failure.stack ?? "",
    });
  }

  private schedulePing(): void {
    this.stopPings();
    this.pingTimer = setTimeout(() => {
      if (!this.linkOpen) return;
      this.send_to_julia({ msg_type: MessageType.PingPong });
      this.schedulePing();
    }, this.pingIntervalMs);
    // In Node a pending ping must not keep the process alive.
    (this.pingTimer as { unref?: () => void }).unref?.();
  }

  private stopPings(): void {
    if (this.pingTimer !== undefined) clearTimeout(this.pingTimer);
    this.pingTimer = undefined;
  }

  private fail(error: unknown, context: string): void {
    const problem = error instanceof Error ? error : new Error(String(error));
    for (const listener of [...this.errorListeners]) listener(problem);
    this.send_error(`bonito: error ${context}`, problem);
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<InitData> {
  return typeof (value as PromiseLike<unknown> | null)?.then === "function";
}
