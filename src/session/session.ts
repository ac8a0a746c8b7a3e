/**
 * A server-side Bonito session: speaks the wire protocol with one frontend over whatever
 * {@link FrontendConnection} carries it. Messages sent before the frontend is ready are
 * queued and go out as one FusedMessage once it is.
 */
import { randomUUID } from "node:crypto";
import type { FrontendConnection } from "./connection.js";
import { registerSessionLink } from "./link.js";
import { Observable } from "../core/observable.js";
import type { Logger } from "../core/logger.js";
import {
  MessageType,
  JSCode,
  ObservableRef,
  ProtocolError,
  encodeServerFrame,
  decodeClientFrame,
  type BonitoMessage,
} from "../protocol/index.js";

/** `displayed`: page sent, frontend not ready yet; `open`: handshake done; `closed`: ended for good. */
export type SessionStatus = "displayed" | "open" | "closed";

/** Why a session ended. `error` is set when it ended because something went wrong. */
export interface SessionCloseInfo {
  reason: string;
  error?: Error;
}

/** An error or warning reported by the frontend's JavaScript. */
export interface FrontendReport {
  kind: "error" | "warning";
  message: string;
  exception?: string;
  stacktrace?: string;
}

export interface SessionOptions {
  id?: string;
  compression?: boolean;
  /** Where protocol errors and frontend reports are logged; defaults to `console`. */
  logger?: Logger;
}

interface QueuedMessage {
  /** Send order, so messages re-queued after a dropped write keep their place. */
  seq: number;
  message: BonitoMessage;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class Session {
  /** Random UUID shared with the frontend. */
  readonly id: string;
  /** Whether frames both ways are compressed (server gzip, frontend zlib). Fixed for the session's life. */
  readonly compressionEnabled: boolean;
  /** Settles once, when the session ends. Never rejects. */
  readonly closed: Promise<SessionCloseInfo>;

  private currentStatus: SessionStatus = "displayed";
  private frontendLoaded = false;
  private queue: QueuedMessage[] = [];
  private readonly observables = new Map<string, Observable<any>>();
  private readonly reportListeners = new Set<(report: FrontendReport) => void>();
  private readonly readyListeners = new Set<() => void>();
  private resolveClosed!: (info: SessionCloseInfo) => void;
  private readonly logger: Logger;
  private inbound: Promise<void> = Promise.resolve();
  private nextSeq = 0;
  /** Observables the frontend has not been told about yet; they ride in the next frame's session cache. */
  private unannounced: Observable<any>[] = [];

  constructor(
    /** The transport carrying this session. */
    readonly connection: FrontendConnection,
    options: SessionOptions = {},
  ) {
    this.id = options.id ?? randomUUID();
    this.compressionEnabled = options.compression ?? false;
    this.logger = options.logger ?? console;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    registerSessionLink(this, { receive: (frame) => this.receive(frame), opened: () => this.flushIfReady() });
  }

  get status(): SessionStatus {
    return this.currentStatus;
  }

  /** True once the frontend finished loading and the connection is open. */
  isReady(): boolean {
    return this.currentStatus === "open" && this.connection.isOpen();
  }

  /**
   * Create (or fetch, if `id` is taken) an observable shared with the frontend. Its
   * initial value reaches the frontend with the page bootstrap, or with the next message.
   */
  observable<T>(initial: T, id: string = randomUUID()): Observable<T> {
    const existing = this.observables.get(id);
    if (existing) return existing as Observable<T>;
    const observable = new Observable<T>(
      id,
      initial,
      (oid, value) => this.send({ msg_type: MessageType.UpdateObservable, id: oid, payload: value }),
      this.logger,
    );
    this.observables.set(id, observable);
    this.unannounced.push(observable);
    // Registration is not a change: the value travels in a session cache (as Bonito does),
    // which the frontend registers without firing listeners. An empty FusedMessage carries
    // it when the frontend has already loaded and nothing else is being sent.
    if (this.frontendLoaded) void this.send({ msg_type: MessageType.FusedMessage, payload: [] }).catch(() => {});
    return observable;
  }

  /**
   * The session cache for the next frame: observables created since the last frame,
   * with their current values. Each is announced once.
   * @internal used by the page bootstrap and by {@link write}
   */
  takeAnnouncements(): ObservableRef[] {
    const refs = this.unannounced.map((o) => new ObservableRef(o.id, o.value));
    this.unannounced = [];
    return refs;
  }

  /** Run JavaScript in the page (`Bonito` is in scope). Resolves when the transport has taken it. */
  evaljs(source: string): Promise<void> {
    return this.send({ msg_type: MessageType.EvalJavascript, payload: new JSCode(source) });
  }

  /** Listen to errors and warnings the frontend reports. Returns an unsubscribe function. */
  onFrontendReport(listener: (report: FrontendReport) => void): () => void {
    this.reportListeners.add(listener);
    return () => this.reportListeners.delete(listener);
  }

  /** Call `listener` each time the session becomes ready (first load, and after every reconnect). */
  onReady(listener: () => void): () => void {
    this.readyListeners.add(listener);
    return () => this.readyListeners.delete(listener);
  }

  /**
   * Send a message to the frontend: now if the session is ready, otherwise queued until it
   * is. Resolves when the transport has taken it; rejects if the session closes first.
   */
  send(message: BonitoMessage): Promise<void> {
    if (this.currentStatus === "closed") return Promise.reject(new Error(`session ${this.id} is closed`));
    return new Promise((resolve, reject) => {
      const entry = { seq: this.nextSeq++, message, resolve, reject };
      if (this.isReady() && this.queue.length === 0) this.write([entry]);
      else this.queue.push(entry);
    });
  }

  /**
   * One frame that arrived from the frontend (through the connection's `deliver`). Frames are
   * processed one at a time in arrival order. A malformed frame closes this session (and only
   * this one) with an error.
   */
  private receive(frame: Uint8Array): Promise<void> {
    this.inbound = this.inbound.then(() => {
      if (this.currentStatus === "closed") return;
      try {
        this.dispatch(decodeClientFrame(frame, this.compressionEnabled));
      } catch (error) {
        const problem = error instanceof Error ? error : new Error(String(error));
        this.logger.error(`bonito: session ${this.id}: closing after a bad frame from the frontend: ${problem.message}`);
        void this.close(`bad frame from the frontend: ${problem.message}`, problem);
      }
    });
    return this.inbound;
  }

  /** End the session, close its connection and free its state. Idempotent. */
  async close(reason = "closed by the server", error?: Error): Promise<void> {
    if (this.currentStatus === "closed") return this.closed.then(() => undefined);
    this.currentStatus = "closed";
    const pending = this.queue;
    this.queue = [];
    const closeError = new Error(`session ${this.id} closed before the message was sent: ${reason}`);
    for (const entry of pending) entry.reject(closeError);
    this.observables.clear();
    this.unannounced = [];
    this.reportListeners.clear();
    this.readyListeners.clear();
    this.resolveClosed(error ? { reason, error } : { reason });
    await this.connection.close(reason).catch((e) => this.logger.warn(`bonito: closing connection of session ${this.id} failed:`, e));
  }

  private dispatch(message: BonitoMessage): void {
    switch (message.msg_type) {
      case MessageType.UpdateObservable: {
        const observable = this.observables.get(message.id as string);
        // A late update for an observable freed meanwhile is a benign race, not an error.
        observable?.receive(message.payload);
        return;
      }
      case MessageType.FusedMessage:
        for (const inner of message.payload as BonitoMessage[]) this.dispatch(inner);
        return;
      case MessageType.JSDoneLoading:
        this.onFrontendLoaded(message);
        return;
      case MessageType.PingPong:
        void this.send({ msg_type: MessageType.PingPong }).catch(() => {});
        return;
      case MessageType.JavascriptError:
      case MessageType.JavascriptWarning:
        this.report(message);
        return;
      case MessageType.CloseSession:
        void this.close("closed by the frontend");
        return;
      default:
        throw new ProtocolError(`message type "${message.msg_type}" is not one a frontend may send`);
    }
  }

  private onFrontendLoaded(message: BonitoMessage): void {
    const exception = message.exception;
    if (typeof exception === "string" && exception !== "nothing") {
      this.report({ msg_type: MessageType.JavascriptError, message: "page failed to load", exception, stacktrace: message.stacktrace });
    }
    this.frontendLoaded = true;
    if (this.currentStatus === "displayed") this.currentStatus = "open";
    this.flushIfReady();
  }

  private report(message: BonitoMessage): void {
    const report: FrontendReport = {
      kind: message.msg_type === MessageType.JavascriptWarning ? "warning" : "error",
      message: String(message.message ?? ""),
    };
    if (message.exception !== undefined) report.exception = String(message.exception);
    if (message.stacktrace !== undefined) report.stacktrace = String(message.stacktrace);
    if (this.reportListeners.size === 0) {
      const log = report.kind === "error" ? this.logger.error : this.logger.warn;
      log.call(this.logger, `bonito: frontend ${report.kind} in session ${this.id}: ${report.message} ${report.exception ?? ""}`);
    }
    for (const listener of [...this.reportListeners]) {
      try {
        listener(report);
      } catch (error) {
        // The app's listener failing is not the frontend's fault: it must not end the session.
        this.logger.error(`bonito: a frontend-report listener of session ${this.id} threw:`, error);
      }
    }
  }

  private flushIfReady(): void {
    if (!this.isReady()) return;
    if (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      this.write(batch);
    }
    for (const listener of [...this.readyListeners]) {
      try {
        listener();
      } catch (error) {
        this.logger.error(`bonito: a ready listener of session ${this.id} threw:`, error);
      }
    }
  }

  /** Write queued messages as one frame (a FusedMessage when there are several). */
  private write(batch: QueuedMessage[]): void {
    const message: BonitoMessage =
      batch.length === 1 ? batch[0]!.message : { msg_type: MessageType.FusedMessage, payload: batch.map((e) => e.message) };
    let frame: Uint8Array;
    try {
      const cache = this.takeAnnouncements();
      frame = encodeServerFrame(this.id, message, this.compressionEnabled, cache.length > 0 ? { cache } : undefined);
    } catch (error) {
      for (const entry of batch) entry.reject(error as Error);
      return;
    }
    this.connection.write(frame).then(
      () => batch.forEach((entry) => entry.resolve()),
      (error: Error) => {
        if (this.currentStatus !== "closed" && !this.connection.isOpen()) {
          // The link dropped under this write; keep the messages for the reconnect
          // instead of losing what the caller already handed us.
          this.queue = [...batch, ...this.queue].sort((a, b) => a.seq - b.seq);
        } else {
          batch.forEach((entry) => entry.reject(error));
        }
      },
    );
  }
}
