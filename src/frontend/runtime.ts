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
import {
  MessageType,
  JSCode,
  ObservableRef,
  encodeClientFrame,
  decodeServerEnvelope,
  type BonitoMessage,
} from "../protocol/index.js";

/** The connection's send function: returns something other than false/undefined on success. */
export type SendFunction = (bytes: Uint8Array) => unknown;

/** `connecting` → `open` ↔ `connecting` (reconnects) → `closed`. */
export type ConnectionStatus = "connecting" | "open" | "closed";

export interface RuntimeOptions {
  /** Runs a JSCode payload. Defaults to `new Function("__lookup_interpolated", "Bonito", source)`. */
  evaluate?: (code: JSCode, runtime: BonitoRuntime) => void;
  /** Interval of keep-alive pings to the server while open. */
  pingIntervalMs?: number;
  /** Where a throwing observable listener is reported. Default `console`. */
  logger?: Logger;
}


/** Traffic counters of a runtime, for status displays. */
export interface RuntimeStats {
  framesSent: number;
  bytesSent: number;
  framesReceived: number;
  bytesReceived: number;
}

export class BonitoRuntime {
  /** Frames and bytes that crossed the connection (encoded sizes). */
  readonly stats: RuntimeStats = { framesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0 };
  /** Bonito's `Sessions` namespace, as connection glue calls it after a reconnect. */
  readonly Sessions = {
    reannounce_initialized_sessions: (): void => this.announceLoaded(),
  };

  private sessionId: string | undefined;
  private compression = false;
  private status: ConnectionStatus = "connecting";
  private sendFunction: SendFunction | undefined;
  private queue: BonitoMessage[] = [];
  private readonly observables = new Map<string, Observable<any>>();
  private readonly statusListeners = new Set<(status: ConnectionStatus) => void>();
  private readonly errorListeners = new Set<(error: Error) => void>();
  private loading: Promise<void> = Promise.resolve();
  private pingTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly pingIntervalMs: number;
  private readonly evaluate: (code: JSCode, runtime: BonitoRuntime) => void;
  private readonly logger: Logger;
  private connectionWaiters: Array<() => void> = [];

  constructor(options: RuntimeOptions = {}) {
    this.pingIntervalMs = options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
    this.evaluate = options.evaluate ?? defaultEvaluate;
    this.logger = options.logger ?? console;
  }

  /** Bootstrap the page's session. `init` is an optional server frame (initial observable values). */
  init_session(sessionId: string, init: Uint8Array | null, _kind: "root" | "sub" = "root", compression = false): void {
    this.sessionId = sessionId;
    this.compression = compression;
    if (init && init.length > 0) this.process_message(this.decode_binary(init, compression));
    this.announceLoaded();
  }

  /** The session this runtime serves, once `init_session` ran. */
  get session_id(): string | undefined {
    return this.sessionId;
  }

  /** Call on every (re)open of the connection: flushes queued messages in order. */
  on_connection_open(send: SendFunction, compressionEnabled: boolean, enablePings = true): void {
    this.sendFunction = send;
    this.compression = compressionEnabled;
    this.setStatus("open");
    const pending = this.queue;
    this.queue = [];
    for (const message of pending) this.send_to_julia(message);
    if (enablePings) this.schedulePing();
    if (this.status === "open") {
      const waiters = this.connectionWaiters;
      this.connectionWaiters = [];
      waiters.forEach((w) => w());
    }
  }

  /** The link is down but may come back: new messages queue meanwhile. */
  on_connection_connecting(): void {
    this.stopPings();
    this.setStatus("connecting");
  }

  /** The connection gave up for good. */
  on_connection_close(): void {
    this.stopPings();
    this.setStatus("closed");
  }

  /** Current connection status. */
  connection_status(): ConnectionStatus {
    return this.status;
  }

  /** Be told of every status change. Returns an unsubscribe function. */
  on_status_change(listener: (status: ConnectionStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Be told of errors raised while processing server messages. Returns an unsubscribe function. */
  on_error(listener: (error: Error) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /** Resolves once the connection is open and the loading handshake has been sent. */
  wait_for_connection(): Promise<void> {
    if (this.status === "open") return Promise.resolve();
    return new Promise((resolve) => this.connectionWaiters.push(resolve));
  }

  /**
   * Decode one frame from the server into a message. As in Bonito, decoding registers the
   * objects of the frame's session cache: observables get their value without a change event.
   */
  decode_binary(bytes: Uint8Array | ArrayBuffer, compression: boolean = this.compression): BonitoMessage {
    const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    this.stats.framesReceived++;
    this.stats.bytesReceived += view.byteLength;
    const frame = decodeServerEnvelope(view, compression);
    for (const cache of frame.caches) {
      for (const object of cache.objects) {
        if (object instanceof ObservableRef) this.mirror(object.id, object.value).register(object.value);
      }
    }
    return frame.message;
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
        case MessageType.EvalJavascript:
          this.evaluate(message.payload as JSCode, this);
          return;
        case MessageType.FusedMessage:
          (message.payload as BonitoMessage[]).forEach((m) => this.process_message(m));
          return;
        case MessageType.PingPong:
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

  /** Send a message to the server now, or queue it until the connection is open. */
  send_to_julia(message: BonitoMessage): void {
    if (this.status !== "open" || !this.sendFunction) {
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

  /** Tell the server this frontend is gone for good (the server ends the session). */
  send_close_session(): void {
    this.send_to_julia({ msg_type: MessageType.CloseSession, session: this.sessionId ?? "", subsession: "" });
  }

  /** Stop timers; the runtime sends nothing more. */
  dispose(): void {
    this.stopPings();
    this.setStatus("closed");
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

  private announceLoaded(): void {
    if (this.sessionId === undefined) return;
    this.send_to_julia({
      msg_type: MessageType.JSDoneLoading,
      session: this.sessionId,
      message: "",
      exception: "nothing",
      stacktrace: "",
    });
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.status === status) return;
    this.status = status;
    for (const listener of [...this.statusListeners]) listener(status);
  }

  private schedulePing(): void {
    this.stopPings();
    this.pingTimer = setTimeout(() => {
      if (this.status !== "open") return;
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

/** Bonito's way of running server-sent code: a function of the interpolation lookup and `Bonito`. */
function defaultEvaluate(code: JSCode, runtime: BonitoRuntime): void {
  const interpolated = (code.interpolated ?? {}) as Record<string | number, unknown>;
  const lookup = (key: string | number) => interpolated[key];
  // eslint-disable-next-line no-new-func -- evaluating server-sent code is the point of EvalJavascript
  new Function("__lookup_interpolated", "Bonito", code.source)(lookup, runtime);
}
