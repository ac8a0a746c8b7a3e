/**
 * A server-side Bonito session: speaks the wire protocol with one frontend over whatever
 * {@link FrontendConnection} carries it. Messages sent before the page is served go into its
 * initial frame; those sent while the frontend is not ready are queued and go out as one
 * FusedMessage once it is. A session may have sub-sessions (Bonito's `Session(parent)`): content
 * shown in part of the page, with their own observables, sharing the root's connection.
 */
import { randomUUID } from "node:crypto";
import type { FrontendConnection } from "./connection.js";
import { Inbox } from "./inbox.js";
import { InboundMemory } from "./inbound-memory.js";
import { registerSessionLink } from "./link.js";
import { Outbox, type OutgoingMessage } from "./outbox.js";
import {
  DEFAULT_MAX_FRAME_DECODE_MS,
  DEFAULT_MAX_FRAME_DEPTH,
  DEFAULT_MAX_FRAME_OBJECTS,
  DEFAULT_MAX_INBOUND_BYTES,
  DEFAULT_MAX_SEND_QUEUE_BYTES,
} from "../core/constants.js";
import { Observable } from "../core/observable.js";
import type { Logger } from "../core/logger.js";
import {
  MessageType,
  JSCode,
  ObservableRef,
  ProtocolError,
  RawHtml,
  SerializedMessage,
  SessionCache,
  encodeServerFrame,
  type BonitoMessage,
  type SessionType,
} from "../protocol/index.js";

export { FRAME_DECODE_CHANNEL } from "./inbox.js";

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

/**
 * What a frontend may make its session do. Each breach closes the session with an error that
 * names the limit. (The largest frame is the connection's `maxFrameSize`; it also bounds what a
 * compressed frame may inflate to.)
 */
export interface SessionLimits {
  /** Most msgpack values in one frame from the frontend. Default 1,000,000. */
  maxFrameObjects: number;
  /** Deepest nesting of arrays, maps and extensions in one frame from the frontend. Default 64. */
  maxFrameDepth: number;
  /** Most processing time one frame from the frontend may take to inflate and decode. Default 10 s. */
  maxFrameDecodeMs: number;
  /**
   * Most bytes waiting to be sent to the frontend: queued while it is not ready, plus written
   * but not yet taken by the transport. Past it the frontend is not reading, and the session
   * is closed. One frame larger than this still goes out when nothing else waits. Default 64 MiB.
   */
  maxSendQueueBytes: number;
}

export interface SessionOptions {
  id?: string;
  compression?: boolean;
  /** Where protocol errors and frontend reports are logged; defaults to `console`. */
  logger?: Logger;
  /** Limits on what the frontend may make the session do; each one left out takes its default. */
  limits?: Partial<SessionLimits>;
  /**
   * The pool that bounds the bytes every session of a server holds in frames not yet
   * processed (`serve()` makes one per server). Default: one pool shared by the sessions
   * of this process that were given none, of `maxInboundBytes` 512 MiB.
   */
  inboundMemory?: InboundMemory;
}

/** Builds the content of a sub-session (an HTML string), as `serve()`'s app builds a page. */
export type SubsessionApp = (session: Session) => string | void | Promise<string | void>;

let processInboundMemory: InboundMemory | undefined;

export class Session {
  /** Random UUID shared with the frontend. */
  readonly id: string;
  /** Whether frames both ways are compressed (server gzip, frontend zlib). Fixed for the session's life. */
  readonly compressionEnabled: boolean;
  /** Settles once, when the session ends. Never rejects. */
  readonly closed: Promise<SessionCloseInfo>;

  private currentStatus: SessionStatus = "displayed";
  private frontendLoaded = false;
  private readonly observables = new Map<string, Observable<any>>();
  private readonly reportListeners = new Set<(report: FrontendReport) => void>();
  private readonly readyListeners = new Set<() => void>();
  private resolveClosed!: (info: SessionCloseInfo) => void;
  private readonly logger: Logger;
  private readonly limits: SessionLimits;
  private readonly inboundMemory: InboundMemory;
  /** Frames from the frontend, decoded in order under the limits (the root's only: sub-sessions get theirs from it). */
  private readonly inbox: Inbox;
  /** What this session sends, until the connection has taken it. */
  private readonly outbox: Outbox;
  /** Observables the frontend has not been told about yet; they ride in the next frame's session cache. */
  private unannounced: Observable<any>[] = [];
  /** The session whose content contains this one; undefined for the root (the page). */
  readonly parent: Session | undefined;
  private readonly children = new Map<string, Session>();
  /** A sub-session's content, run again when the frontend asks for it (GetSessionDOM). */
  private app: SubsessionApp | undefined;

  constructor(
    /** The transport carrying this session (a sub-session's is its root's). */
    readonly connection: FrontendConnection,
    options: SessionOptions & { parent?: Session } = {},
  ) {
    this.id = options.id ?? randomUUID();
    this.parent = options.parent;
    if (options.parent) {
      // A sub-session shares its root's connection, settings and limits.
      const { compressionEnabled, logger, limits, inboundMemory } = options.parent;
      options = { ...options, compression: compressionEnabled, logger, limits, inboundMemory };
    }
    this.compressionEnabled = options.compression ?? false;
    this.logger = options.logger ?? console;
    this.limits = {
      maxFrameObjects: options.limits?.maxFrameObjects ?? DEFAULT_MAX_FRAME_OBJECTS,
      maxFrameDepth: options.limits?.maxFrameDepth ?? DEFAULT_MAX_FRAME_DEPTH,
      maxFrameDecodeMs: options.limits?.maxFrameDecodeMs ?? DEFAULT_MAX_FRAME_DECODE_MS,
      maxSendQueueBytes: options.limits?.maxSendQueueBytes ?? DEFAULT_MAX_SEND_QUEUE_BYTES,
    };
    this.inboundMemory = options.inboundMemory ?? (processInboundMemory ??= new InboundMemory(DEFAULT_MAX_INBOUND_BYTES));
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.outbox = new Outbox({
      sessionId: this.id,
      connection,
      compression: this.compressionEnabled,
      maxSendQueueBytes: this.limits.maxSendQueueBytes,
      encode: (messages) => this.encodeFrame(messages),
      isClosed: () => this.currentStatus === "closed",
      overflowed: (error) => {
        this.logger.error(`bonito: session ${this.id}: ${error.message}`);
        void this.close(error.message, error);
      },
    });
    this.inbox = new Inbox({
      sessionId: this.id,
      compression: this.compressionEnabled,
      limits: () => ({ ...this.limits, maxFrameSize: this.connection.maxFrameSize }),
      memory: this.inboundMemory,
      holder: { evict: (error) => void this.close(error.message, error) },
      dispatch: (message) => this.dispatch(message),
      rejected: (problem) => {
        this.logger.error(`bonito: session ${this.id}: closing after a bad frame from the frontend: ${problem.message}`);
        void this.close(`bad frame from the frontend: ${problem.message}`, problem);
      },
    });
    // Frames arrive for the root only; it hands sub-sessions theirs.
    if (this.parent) return;
    registerSessionLink(this, {
      receive: (frame) => this.inbox.receive(frame),
      opened: () => this.flushIfReady(),
      holding: (bytes) => this.inbox.transportHolds(bytes),
    });
  }

  /** The transport that carries the session now: `"websocket"`, `"webrtc"`, … (see `FrontendConnection.transport`). */
  get transport(): string {
    return this.connection.transport;
  }

  get status(): SessionStatus {
    return this.currentStatus;
  }

  /** "root" for a page's session, "sub" for a sub-session, as the frames name them. */
  get sessionType(): SessionType {
    return this.parent ? "sub" : "root";
  }

  /** The page's session: this one, or the root of the tree of sub-sessions it belongs to. */
  get root(): Session {
    return this.parent ? this.parent.root : this;
  }

  /**
   * Show `app` in a new sub-session, in place of the page element whose `data-jscall-id` is
   * `selector` (or inside it, with `replace: false`), as Bonito's `update_session_dom!`. The
   * sub-session's observables, `evaljs` and updates work like a page's; it is ready once the
   * frontend has loaded its content, and closes when that content leaves the page (the
   * frontend sends CloseSession), when `close()` is called, or with its parent. Resolves once
   * the content is queued.
   */
  async updateDom(selector: string, app: SubsessionApp, options: { replace?: boolean } = {}): Promise<Session> {
    if (this.currentStatus === "closed") throw new Error(`session ${this.id} is closed`);
    const sub = new Session(this.connection, { parent: this });
    sub.app = app;
    this.children.set(sub.id, sub);
    try {
      await sub.sendContent(selector, options.replace ?? true, "update");
    } catch (error) {
      await sub.close(`showing the sub-session failed: ${(error as Error).message}`, error as Error);
      throw error;
    }
    return sub;
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
      // Keys in the order Julia writes them (its Dict's), here and below: frames identical to Bonito's.
      (oid, value) => this.send({ payload: value, id: oid, msg_type: MessageType.UpdateObservable }),
      this.logger,
    );
    this.observables.set(id, observable);
    this.unannounced.push(observable);
    // Registration is not a change: the value travels in a session cache (as Bonito does),
    // which the frontend registers without firing listeners. An empty FusedMessage carries
    // it when the frontend has already loaded and nothing else is being sent.
    if (this.frontendLoaded) void this.send({ payload: [], msg_type: MessageType.FusedMessage }).catch(() => {});
    return observable;
  }

  /**
   * The session cache for the next frame: observables created since the last frame,
   * with their current values. Each is announced once.
   * @internal used by {@link takeInitialMessages} and by {@link encodeFrame}
   */
  takeAnnouncements(): ObservableRef[] {
    const refs = this.unannounced.map((o) => new ObservableRef(o.id, o.value));
    this.unannounced = [];
    return refs;
  }

  /**
   * What the page runs before it reports loaded, as Bonito's `get_messages!`: the observables
   * created so far (for the cache) and the messages sent so far, which leave the queue now:
   * they travel in the page itself.
   * @internal used by the page bootstrap
   */
  takeInitialMessages(): { cache: ObservableRef[]; messages: OutgoingMessage[] } {
    const entries = this.outbox.take();
    for (const entry of entries) entry.resolve();
    return { cache: this.takeAnnouncements(), messages: entries.map((entry) => entry.message) };
  }

  /** Run JavaScript in the page (`Bonito` is in scope). Resolves when the transport has taken it. */
  evaljs(source: string): Promise<void> {
    return this.send({ payload: new JSCode(source), msg_type: MessageType.EvalJavascript });
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
   * is. Resolves when the transport has taken it; rejects if the session closes first. The
   * rejection never goes unhandled: ignoring the promise is safe, awaiting it still tells.
   */
  send(message: BonitoMessage): Promise<void> {
    return this.enqueue(message);
  }

  private enqueue(message: OutgoingMessage): Promise<void> {
    if (this.currentStatus === "closed") {
      const refused = Promise.reject(new Error(`session ${this.id} is closed`));
      refused.catch(() => {});
      return refused;
    }
    return this.outbox.send(message, this.isReady());
  }

  /**
   * End the session and free its state, and its sub-sessions'. A root session also closes its
   * connection; a sub-session leaves the connection to its root and tells the frontend to
   * free it (`Bonito.free_session`), as Bonito does. Idempotent.
   */
  async close(reason = "closed by the server", error?: Error): Promise<void> {
    if (this.currentStatus === "closed") return this.closed.then(() => undefined);
    this.currentStatus = "closed";
    this.inbox.end(reason);
    this.free(`closed before the message was sent: ${reason}`);
    await Promise.all([...this.children.values()].map((child) => child.close(reason)));
    this.reportListeners.clear();
    this.readyListeners.clear();
    // Reading the stack formats it now: until then the error's trace keeps every function on
    // it reachable, with what they closed over (the frame that caused the error, possibly
    // hundreds of megabytes), for as long as anyone keeps `closed`.
    void error?.stack;
    this.resolveClosed(error ? { reason, error } : { reason });
    if (this.parent) {
      this.parent.children.delete(this.id);
      const root = this.root;
      if (root.isReady()) await root.evaljs(`Bonito.free_session(${JSON.stringify(this.id)});`).catch(() => {});
      return;
    }
    await this.connection.close(reason).catch((e) => this.logger.warn(`bonito: closing connection of session ${this.id} failed:`, e));
  }

  /** Drops observables and queued messages (rejected with `why`). */
  private free(why: string): void {
    const error = new Error(`session ${this.id} ${why}`);
    for (const entry of this.outbox.take()) entry.reject(error);
    this.observables.clear();
    this.unannounced = [];
  }

  /** The session `id` among this one and its sub-sessions. */
  private findSession(id: unknown): Session | undefined {
    if (id === this.id) return this;
    for (const child of this.children.values()) {
      const found = child.findSession(id);
      if (found) return found;
    }
    return undefined;
  }

  /** Observable `id` of this session or of one of its sub-sessions. */
  private findObservable(id: unknown): Observable<any> | undefined {
    const own = typeof id === "string" ? this.observables.get(id) : undefined;
    if (own) return own;
    for (const child of this.children.values()) {
      const found = child.findObservable(id);
      if (found) return found;
    }
    return undefined;
  }

  /**
   * Sends this sub-session's content (UpdateSession) through the root, as Bonito's
   * `update_session_dom!` ("update") and `update_subsession_dom!` ("refresh", the answer to
   * GetSessionDOM): the HTML, wrapped as Bonito wraps a sub-session so the page can find it
   * by the session id, with the messages sent so far; the observables created so far ride in
   * the frame's cache. The keys are in the order Julia writes them. Resolves once the content
   * is queued on the root.
   */
  private async sendContent(selector: string, replace: boolean, kind: "update" | "refresh"): Promise<void> {
    const body = (await this.app!(this)) ?? "";
    if (this.currentStatus === "closed") return;
    const html = new RawHtml(
      `<div id="${this.id}" class="bonito-fragment" data-jscall-id="subsession-application-dom" style="display:contents">${body}</div>`,
    );
    const entries = this.outbox.take();
    const messages = entries.map((entry) => entry.message);
    const update: BonitoMessage =
      kind === "update"
        ? { session_id: this.id, messages, replace, msg_type: MessageType.UpdateSession, session_status: "sub", html, dom_node_selector: selector }
        : { session_id: this.id, messages, replace, msg_type: MessageType.UpdateSession, html, dom_node_selector: selector };
    const envelope = new SerializedMessage(new SessionCache(this.id, "sub", this.takeAnnouncements()), update);
    // Not awaited: before the page is served, the root's queue only empties into the page
    // itself, which may be waiting for this very call to return.
    this.parent!.root.enqueue(envelope).then(
      () => entries.forEach((entry) => entry.resolve()),
      (error: Error) => entries.forEach((entry) => entry.reject(error)),
    );
  }

  private dispatch(message: BonitoMessage): void {
    switch (message.msg_type) {
      case MessageType.UpdateObservable: {
        // A late update for an observable freed meanwhile is a benign race, not an error.
        this.findObservable(message.id)?.receive(message.payload);
        return;
      }
      case MessageType.FusedMessage:
        for (const inner of message.payload as BonitoMessage[]) this.dispatch(inner);
        return;
      case MessageType.JSDoneLoading:
        // For this session or a sub-session; one freed meanwhile is ignored, as Bonito does.
        this.findSession(message.session)?.onFrontendLoaded(message);
        return;
      case MessageType.PingPong:
        // A keep-alive: answered when the answer can go out at once, never queued (a client
        // that pings before it has loaded must not grow the queue).
        if (this.isReady()) void this.send({ msg_type: MessageType.PingPong });
        return;
      case MessageType.JavascriptError:
      case MessageType.JavascriptWarning:
        this.report(message);
        return;
      case MessageType.CloseSession:
        this.closeFromFrontend(message);
        return;
      case MessageType.GetSessionDOM:
        this.refreshFromFrontend(message);
        return;
      default:
        throw new ProtocolError(`message type "${message.msg_type}" is not one a frontend may send`);
    }
  }

  /**
   * CloseSession, as Bonito answers it: a sub-session closes alone; the root closes unless
   * `subsession` is "root", which empties it (its observables and queued messages are
   * dropped) and keeps it open. An unknown session is ignored.
   */
  private closeFromFrontend(message: BonitoMessage): void {
    const target = this.findSession(message.session);
    if (!target) return;
    if (target.parent || message.subsession !== "root") void target.close("closed by the frontend");
    else target.free("emptied by the frontend (CloseSession with subsession \"root\")");
  }

  /**
   * GetSessionDOM, as Bonito answers it: the sub-session's state is freed and its content
   * built again and sent (UpdateSession, replacing the element named by `replace`). A session
   * without content to send (the root, or an unknown one) is reported and ignored.
   */
  private refreshFromFrontend(message: BonitoMessage): void {
    const target = this.findSession(message.session);
    if (!target?.app) {
      const id = String(message.session).slice(0, 80);
      this.logger.warn(`bonito: session ${this.id}: the frontend asked for the content of session ${id}, which has none to send`);
      return;
    }
    void target.refresh(message.replace as string);
  }

  private async refresh(selector: string): Promise<void> {
    this.free("re-rendered for the frontend (GetSessionDOM)");
    await Promise.all([...this.children.values()].map((child) => child.close("parent re-rendered")));
    this.currentStatus = "displayed";
    this.frontendLoaded = false;
    await this.sendContent(selector, true, "refresh").catch((error: Error) =>
      this.logger.warn(`bonito: session ${this.id}: sending its content again failed: ${error.message}`),
    );
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
    // The frontend is one page: its reports go to the root's listeners, whichever session they concern.
    if (this.parent) return this.root.report(message);
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
    if (!this.outbox.flush()) {
      // Always at least one frame: the frontend reports itself connected on the first frame
      // after its JSDoneLoading, and it must not wait for the app to say something.
      void this.send({ msg_type: MessageType.FusedMessage, payload: [] }).catch(() => {});
    }
    for (const listener of [...this.readyListeners]) {
      try {
        listener();
      } catch (error) {
        this.logger.error(`bonito: a ready listener of session ${this.id} threw:`, error);
      }
    }
  }

  /**
   * Lays out one frame for `messages` (one message alone, several as a FusedMessage). A
   * sub-session's message sent through this session is a frame of its own when alone, and
   * nested with its envelope in the FusedMessage otherwise, as Bonito lays them out.
   */
  private encodeFrame(messages: readonly OutgoingMessage[]): Uint8Array {
    const only = messages.length === 1 ? messages[0] : undefined;
    if (only instanceof SerializedMessage) {
      const { cache, message } = only;
      return encodeServerFrame(cache.sessionId, message as BonitoMessage, false, { sessionType: cache.sessionType, cache: cache.objects });
    }
    const message: BonitoMessage = only ?? { payload: [...messages], msg_type: MessageType.FusedMessage };
    return encodeServerFrame(this.id, message, false, { sessionType: this.sessionType, cache: this.takeAnnouncements() });
  }
}
