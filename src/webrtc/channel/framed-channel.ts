/**
 * FramedChannel: whole frames (Bonito messages of any size) over a data
 * channel, with backpressure, a heartbeat and an orderly close.
 * Platform-free: it only talks to a ChannelPort, so Node and the browser
 * share it.
 */
import { resolveOptions, type FramedChannelOptions } from "./channel-options.js";
import { Fifo } from "./fifo.js";
import {
  FramingError,
  HEADER_SIZE,
  MAX_CLOSE_REASON_BYTES,
  Reassembler,
  batchEntrySize,
  encodeBatch,
  encodeClose,
  encodeCloseAck,
  encodeHeartbeat,
  iterateFragments,
  type FrameEvent,
} from "./framing.js";
import type { ChannelPort } from "./port.js";

/** How a FramedChannel ended. */
export interface CloseInfo {
  /** Why: our own reason, the peer's CLOSE reason, or what went wrong. */
  reason: string;
  /** Set when the channel ended abnormally (protocol error, timeout, transport failure). */
  error?: Error;
  /** True when the peer (or the transport) ended it, false when this side did. */
  remote: boolean;
}

/** Receives each whole frame. If it returns a promise, the next frame waits for it. */
export type FrameHandler = (frame: Uint8Array) => void | Promise<void>;

/** After a protocol error, how long the CLOSE we send may take to leave the buffer before the port closes. */
const CLOSE_DRAIN_MS = 1000;
/** How much longer than a heartbeat interval a peer may be silent while it closes. */
const CLOSE_SILENCE_MARGIN_MS = 1000;
/** Poll period while waiting for the buffer to empty during close. */
const CLOSE_POLL_MS = 5;

type Timer = ReturnType<typeof setTimeout>;

/**
 * Frames over a ChannelPort. Takes ownership of the port: it sets the
 * port's callbacks and closes it when the channel ends. The port must be
 * open already.
 */
export class FramedChannel {
  /** Settles once, when the channel has ended, with why it ended. Never rejects. */
  readonly closed: Promise<CloseInfo>;
  /**
   * Settles once, when the channel stops accepting writes for good (either side began to
   * close, or it failed), with what `closed` will report. When the peer closes, it settles
   * once every frame the peer sent before its CLOSE has been handed to the frame handler;
   * the close handshake then continues in the background until `closed`. Never rejects.
   */
  readonly ending: Promise<CloseInfo>;

  private readonly port: ChannelPort;
  private readonly options: Required<FramedChannelOptions>;
  private readonly reassembler: Reassembler;
  private state: "open" | "closing" | "closed" = "open";
  private closeInfo: CloseInfo | null = null;
  /** Set by the orderly close: how the channel will be reported closed. */
  private closing: CloseInfo | null = null;
  private resolveClosed!: (info: CloseInfo) => void;
  private resolveEnding!: (info: CloseInfo) => void;

  // The close handshake (see the section "closing" below).
  private closeSent = false;
  private closeAckSent = false;
  private peerClosed = false;
  private peerAcked = false;
  /** Wakes the close sequence's current wait (an ACK arrived, or the channel ended). */
  private wakeCloser: (() => void) | null = null;
  /** Resolved when the inbox is empty and no handler is running. */
  private deliveredWaiters: Array<() => void> = [];

  /** Writes accepted and not yet (completely) handed to the port, in call order. */
  private readonly outbox = new Fifo<PendingWrite>();
  /** True while the pump runs or is scheduled; it alone sends data, so writes never interleave. */
  private pumping = false;
  /** Called when the pump stops with nothing left to send (close waits for this). */
  private idleWaiters: Array<() => void> = [];
  /** The pump's wait for the buffer to drain, if it is waiting (at most one). */
  private drainWaiter: { resolve: () => void; reject: (error: Error) => void } | null = null;

  private handler: FrameHandler | null = null;
  private readonly inbox = new Fifo<Uint8Array>();
  /** Bytes of the frames in the inbox. */
  private inboxBytes = 0;
  private heldListener: ((bytes: number) => void) | null = null;
  /** What the held listener was last told. */
  private heldReported = 0;
  private delivering = false;
  /** False after a protocol error: nothing more from the peer is trusted. */
  private receiving = true;

  /** Milliseconds on a monotonic clock; injectable so tests can drive time. */
  private readonly now: () => number;
  private lastInbound: number;
  private silenceSuspected = false;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private watchdogTimer: Timer | null = null;

  /**
   * Wraps `port` (already open); see FramedChannelOptions for the defaults. `now` reads the
   * clock that heartbeat and close deadlines are measured on (a test passes one it controls,
   * together with mocked timers).
   */
  constructor(port: ChannelPort, options: FramedChannelOptions = {}, now: () => number = monotonicNow) {
    this.port = port;
    this.now = now;
    this.lastInbound = this.now();
    this.options = resolveOptions(options);
    this.reassembler = new Reassembler(this.options.maxFrameSize);
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.ending = new Promise((resolve) => (this.resolveEnding = resolve));

    port.onMessage(this.handleMessage);
    port.onBufferedAmountLow(this.handleBufferedAmountLow);
    port.onClose(this.handlePortClose);
    port.onError(this.handlePortError);
    port.setBufferedAmountLowThreshold(this.options.lowWaterMark);

    if (!port.isOpen) {
      this.finish({ reason: "data channel is not open", error: new Error("data channel is not open"), remote: true });
      return;
    }
    this.startHeartbeat();
  }

  /** True until `close` is called or the channel ends; only then are writes accepted. */
  get isOpen(): boolean {
    return this.state === "open";
  }

  /**
   * Sends one frame. Resolves once every fragment has been handed to the
   * data channel; while the channel buffers more than highWaterMark it
   * waits for the buffer to drain, so memory stays bounded. Writes go out
   * in call order and never interleave. Small frames written together (in
   * the same tick, or while an earlier write waits) share data-channel
   * messages (BATCH); a lone write is sent at once, never held for a timer.
   * Rejects if the channel is closed or closes meanwhile, if the frame
   * exceeds maxFrameSize, or if the buffer makes no progress for
   * writeTimeoutMs (which also closes the channel).
   * Do not modify `frame` until the promise has settled.
   */
  write(frame: Uint8Array): Promise<void> {
    if (this.state !== "open") return Promise.reject(this.notWritableError());
    if (frame.length > this.options.maxFrameSize) {
      return Promise.reject(
        new RangeError(`frame of ${frame.length} bytes exceeds maxFrameSize (${this.options.maxFrameSize} bytes)`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.outbox.push({ frame, resolve, reject });
      if (this.pumping) return;
      // A microtask, not a timer: the writes of the current tick join this
      // one (one batch), and a lone write goes out without added latency.
      this.pumping = true;
      queueMicrotask(this.startPump);
    });
  }

  /**
   * Sets the receiver of whole frames (replacing any previous one; null
   * pauses delivery). Frames that arrive while there is no handler are kept
   * and delivered, in order, once one is set. If the handler throws or its
   * promise rejects, the channel closes with that error.
   */
  onFrame(handler: FrameHandler | null): void {
    this.handler = handler;
    if (handler && this.inbox.length > 0) queueMicrotask(() => this.deliver());
  }

  /**
   * Be told, each time it changes, how many bytes the channel holds for frames it has not
   * handed to the frame handler yet: the frame being reassembled plus whole frames waiting.
   * (What a server counts against its memory for unprocessed input.)
   */
  onHeldBytes(listener: ((bytes: number) => void) | null): void {
    this.heldListener = listener;
    this.reportHeld();
  }

  /**
   * Closes the channel: stops accepting writes, lets writes already
   * accepted finish (up to closeTimeoutMs), sends a CLOSE message with
   * `reason`, waits briefly for it to leave the buffer, then closes the
   * port. Idempotent; resolves when the channel has ended.
   */
  async close(reason = "closed"): Promise<void> {
    this.beginClose({ reason, remote: false });
    await this.closed;
  }

  /**
   * Sends CLOSE with `reason` at once and ends the channel without waiting for anything:
   * for a page that is being unloaded, which cannot wait for writes or for the peer's
   * CLOSE_ACK. Writes not yet handed to the data channel are rejected. The data channel is
   * left to the platform, which tears it down with the page: closing it here as well made
   * node-datachannel peers drop the CLOSE (see its backend.ts). Idempotent.
   */
  closeNow(reason = "closed"): void {
    if (this.state === "closed") return;
    this.sendCloseBestEffort(reason);
    this.finish(this.closing ?? { reason, remote: false }, { keepPortOpen: true });
  }

  // ---- writing -------------------------------------------------------

  /** Whether the channel has ended (a method, so checks after an await are not narrowed away). */
  private get ended(): boolean {
    return this.state === "closed";
  }

  private readonly startPump = (): void => {
    void this.pump();
  };

  /**
   * Sends the outbox, oldest first, one data-channel message at a time,
   * waiting for the buffer to drain below highWaterMark before each one.
   * Whatever is queued when a message is due goes into it: consecutive
   * frames that fit together in one message become a BATCH, a frame too
   * large for that is fragmented, and a frame on its own is one DATA_LAST
   * message. Writes queued during a wait therefore batch by themselves.
   * On failure the writes being sent get the error, the rest are rejected
   * as not writable (the channel has ended).
   */
  private async pump(): Promise<void> {
    const outbox = this.outbox;
    let sending: PendingWrite[] = [];
    try {
      while (outbox.length > 0) {
        while (this.port.bufferedAmount > this.options.highWaterMark) await this.waitForDrain();
        // The wait may have ended because the channel closed.
        if (this.ended) throw this.notWritableError();
        const messageSize = Math.min(this.port.maxMessageSize, this.options.maxFragmentSize);
        const count = this.batchableCount(messageSize);
        if (count >= 2) {
          sending = outbox.take(count);
          const frames = new Array<Uint8Array>(count);
          for (let i = 0; i < count; i++) frames[i] = sending[i]!.frame;
          this.sendOrFail(encodeBatch(frames));
        } else {
          sending = outbox.take(1);
          await this.sendFragments(sending[0]!.frame, messageSize);
        }
        for (const write of sending) write.resolve();
        sending = [];
      }
    } catch (cause) {
      const error = cause instanceof Error ? cause : new Error(String(cause));
      for (const write of sending) write.reject(error);
      const rest = outbox.take(outbox.length);
      if (rest.length > 0) {
        const notWritable = this.notWritableError();
        for (const write of rest) write.reject(notWritable);
      }
    } finally {
      this.pumping = false;
      for (const idle of this.idleWaiters.splice(0)) idle();
    }
  }

  /** How many frames from the head of the outbox fit together in one BATCH of at most `messageSize` bytes. */
  private batchableCount(messageSize: number): number {
    const outbox = this.outbox;
    let size = HEADER_SIZE;
    let count = 0;
    for (let i = 0; i < outbox.length; i++) {
      size += batchEntrySize(outbox.at(i).frame.length);
      if (size > messageSize) break;
      count++;
    }
    return count;
  }

  /** Sends one frame as DATA_MORE…DATA_LAST messages, waiting for backpressure between them. */
  private async sendFragments(frame: Uint8Array, messageSize: number): Promise<void> {
    let first = true;
    for (const message of iterateFragments(frame, messageSize)) {
      // The pump has just checked the buffer for the first message.
      if (!first) {
        while (this.port.bufferedAmount > this.options.highWaterMark) await this.waitForDrain();
        if (this.ended) throw this.notWritableError();
      }
      first = false;
      this.sendOrFail(message);
    }
  }

  /** Resolves when nothing is queued or being sent (at once if so already). */
  private whenWritesDone(): Promise<void> {
    if (!this.pumping) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Waits for the port's buffer to fall to lowWaterMark; rejects on close or no progress. */
  private waitForDrain(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.drainWaiter = null;
        const error = new Error(
          `write timed out: the data channel buffer stayed above ${this.options.lowWaterMark} bytes ` +
            `for ${this.options.writeTimeoutMs} ms (bufferedAmount ${this.port.bufferedAmount})`,
        );
        reject(error);
        this.finish({ reason: error.message, error, remote: false });
      }, this.options.writeTimeoutMs);
      unrefTimer(timer);
      this.drainWaiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  private readonly handleBufferedAmountLow = (): void => {
    const waiter = this.drainWaiter;
    this.drainWaiter = null;
    waiter?.resolve();
  };

  /** Sends one message; a failure leaves the stream unusable (a frame may be cut), so it ends the channel. */
  private sendOrFail(message: Uint8Array): void {
    try {
      this.port.send(message);
    } catch (cause) {
      const error = new Error(`data channel send failed: ${errorMessage(cause)}`, { cause });
      this.finish({ reason: error.message, error, remote: false });
      throw error;
    }
  }

  private notWritableError(): Error {
    if (this.closeInfo) return new Error(`channel closed: ${this.closeInfo.reason}`);
    return new Error("channel is closing");
  }

  // ---- reading -------------------------------------------------------

  private readonly handleMessage = (data: Uint8Array): void => {
    if (this.state === "closed" || !this.receiving) return;
    this.lastInbound = this.now();
    let event: FrameEvent | null;
    try {
      event = this.reassembler.push(data);
    } catch (error) {
      // A FramingError (oversized frame, bad header): the stream cannot be trusted any more.
      this.receiving = false;
      this.fail(error instanceof FramingError ? error : new Error(errorMessage(error), { cause: error }));
      return;
    }
    if (event === null || event.kind === "heartbeat") {
      if (event === null) this.reportHeld();
      return;
    }
    if (event.kind === "close") {
      this.peerClosing(event.reason);
      return;
    }
    if (event.kind === "close-ack") {
      this.peerAcknowledged();
      return;
    }
    if (event.kind === "frame") this.queueFrame(event.frame);
    else for (const frame of event.frames) this.queueFrame(frame);
    this.reportHeld();
    this.deliver();
  };

  private queueFrame(frame: Uint8Array): void {
    this.inbox.push(frame);
    this.inboxBytes += frame.byteLength;
  }

  private reportHeld(): void {
    const held = this.state === "closed" ? 0 : this.reassembler.pendingBytes + this.inboxBytes;
    if (held === this.heldReported || !this.heldListener) return;
    this.heldReported = held;
    this.heldListener(held);
  }

  /** Hands queued frames to the handler one at a time, waiting for async handlers. */
  private deliver(): void {
    if (this.delivering) return;
    this.delivering = true;
    while (this.handler && this.inbox.length > 0 && this.state !== "closed") {
      const frame = this.inbox.shift();
      this.inboxBytes -= frame.byteLength;
      this.reportHeld();
      let result: void | Promise<void>;
      try {
        result = this.handler(frame);
      } catch (error) {
        this.delivering = false;
        this.fail(new Error(`frame handler failed: ${errorMessage(error)}`, { cause: error }));
        return;
      }
      if (isPromiseLike(result)) {
        result.then(
          () => {
            this.delivering = false;
            this.deliver();
          },
          (error: unknown) => {
            this.delivering = false;
            this.fail(new Error(`frame handler failed: ${errorMessage(error)}`, { cause: error }));
          },
        );
        return;
      }
    }
    this.delivering = false;
    if (this.inbox.length === 0) for (const delivered of this.deliveredWaiters.splice(0)) delivered();
  }

  /** Resolves once every frame received so far has been handed to the handler (and its promise settled). */
  private whenDelivered(): Promise<void> {
    if (!this.delivering && this.inbox.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.deliveredWaiters.push(resolve));
  }

  // ---- liveness ------------------------------------------------------

  private startHeartbeat(): void {
    const { heartbeatIntervalMs, heartbeatTimeoutMs } = this.options;
    if (heartbeatIntervalMs > 0) {
      this.heartbeatTimer = setInterval(this.sendHeartbeat, heartbeatIntervalMs);
      unrefTimer(this.heartbeatTimer);
    }
    if (heartbeatTimeoutMs > 0) this.armWatchdog(heartbeatTimeoutMs);
  }

  private readonly sendHeartbeat = (): void => {
    if (this.state === "closed" || !this.port.isOpen) return;
    try {
      this.sendOrFail(encodeHeartbeat());
    } catch {
      // sendOrFail has already ended the channel.
    }
  };

  private armWatchdog(delayMs: number): void {
    this.watchdogTimer = setTimeout(this.checkLiveness, delayMs);
    unrefTimer(this.watchdogTimer);
  }

  /**
   * Closes the channel when nothing has arrived for heartbeatTimeoutMs.
   * Checks the time of the last message instead of restarting a timer per
   * message, which would cost a timer operation for every fragment.
   */
  private readonly checkLiveness = (): void => {
    this.watchdogTimer = null;
    if (this.state === "closed") return;
    const timeout = this.options.heartbeatTimeoutMs;
    const silentFor = this.now() - this.lastInbound;
    if (silentFor < timeout) {
      this.silenceSuspected = false;
      this.armWatchdog(timeout - silentFor);
      return;
    }
    if (!this.silenceSuspected) {
      // If the event loop was blocked, messages may be waiting unread right
      // now; give them one turn of the loop before declaring the peer gone.
      this.silenceSuspected = true;
      this.armWatchdog(0);
      return;
    }
    const error = new Error("heartbeat timeout: peer vanished");
    // The peer may only be unreachable one way: tell it why, without waiting.
    this.sendCloseBestEffort(error.message);
    this.finish({ reason: error.message, error, remote: true });
  };

  // ---- closing -------------------------------------------------------
  //
  // Closing is a handshake, so that closing the peer connection never cuts off a frame
  // still in flight (libdatachannel, for one, discards unacknowledged data when its peer
  // connection closes). The side that closes first finishes its accepted writes, sends
  // CLOSE and keeps reading; the peer finishes its own accepted writes and answers
  // CLOSE_ACK, after which it sends nothing; on CLOSE_ACK the first side knows both
  // directions are complete and closes the port, which the peer sees as the end. If both
  // send CLOSE at once, each answers the other's with CLOSE_ACK and waits for one.
  // Every wait is bounded by closeTimeoutMs, the waits for the peer also by its silence.

  /** Starts the orderly close (once) as the side that closes first; `info` is what `closed` will report. */
  private beginClose(info: CloseInfo): void {
    if (this.state !== "open") return;
    this.state = "closing";
    this.closing = info;
    this.resolveEnding(info);
    void this.closeGracefully(info);
  }

  private async closeGracefully(info: CloseInfo): Promise<void> {
    // Writes accepted before close() still go out, within closeTimeoutMs.
    await settledOrTimeout(this.whenWritesDone(), this.options.closeTimeoutMs);
    if (this.ended) return;
    if (this.peerClosed) {
      // The peer's CLOSE arrived while our writes went out: answer it instead.
      await this.acknowledgeAndWait();
      return;
    }
    if (!this.sendControl(encodeClose(info.reason, this.maxCloseReasonBytes()))) return this.finish(info);
    this.closeSent = true;
    this.stopHeartbeat();
    if (!this.receiving) {
      // After a protocol error nothing the peer sends is read any more, an ACK included.
      await this.bufferEmptied(CLOSE_DRAIN_MS);
      return this.finish(info);
    }
    await this.waitQuietly(() => this.peerAcked);
    if (this.ended) return;
    await settledOrTimeout(this.whenDelivered(), this.options.closeTimeoutMs);
    this.finish(info);
  }

  /** The peer sent CLOSE: everything it sent before has arrived. */
  private peerClosing(reason: string): void {
    if (this.peerClosed) return;
    this.peerClosed = true;
    if (this.state === "open") {
      this.state = "closing";
      const info: CloseInfo = { reason, remote: true };
      this.closing = info;
      void settledOrTimeout(this.whenDelivered(), this.options.closeTimeoutMs).then(() => this.resolveEnding(info));
      void settledOrTimeout(this.whenWritesDone(), this.options.closeTimeoutMs).then(() => this.acknowledgeAndWait());
      return;
    }
    // Both sides closed at once. Our CLOSE follows our last frame, so once it is out our
    // answer may go too; if it is not out yet, closeGracefully answers instead of sending it.
    if (this.closeSent && !this.closeAckSent) {
      this.closeAckSent = this.sendControl(encodeCloseAck());
    }
  }

  /** The peer answered our CLOSE: both directions are complete. */
  private peerAcknowledged(): void {
    this.peerAcked = true;
    if (!this.closeSent) {
      // An answer to a CLOSE we never sent: the peer has stopped; nothing more will come.
      this.finish(this.closing ?? { reason: "the peer ended the channel", remote: true });
      return;
    }
    this.wakeCloser?.();
  }

  /** Answer the peer's CLOSE (our accepted writes are out), then let the peer close the channel. */
  private async acknowledgeAndWait(): Promise<void> {
    if (this.ended || this.closeAckSent) return;
    const info = this.closing!;
    this.closeAckSent = this.sendControl(encodeCloseAck());
    this.stopHeartbeat();
    if (!this.closeAckSent) return this.finish(info);
    // The peer closes the channel on our ACK, unless it sent CLOSE too and waits for an ACK
    // of its own (both closed at once): then its ACK ends the wait.
    await this.waitQuietly(() => this.closeSent && this.peerAcked);
    this.finish(info);
  }

  /**
   * Resolves when `done()` holds (checked whenever the wait is woken), when the channel has
   * ended, or once the peer has been silent for closeSilenceMs: a peer still sending its
   * last frames extends the wait, a vanished one does not hold it up.
   */
  private waitQuietly(done: () => boolean): Promise<void> {
    const limit = this.closeSilenceMs;
    return new Promise<void>((resolve) => {
      let timer: Timer | null = null;
      const stop = () => {
        if (timer !== null) clearTimeout(timer);
        this.wakeCloser = null;
        resolve();
      };
      const check = () => {
        if (this.ended || done()) stop();
      };
      const arm = (delayMs: number) => {
        timer = setTimeout(() => {
          const quietFor = this.now() - this.lastInbound;
          if (quietFor >= limit) stop();
          else arm(limit - quietFor);
        }, delayMs);
        unrefTimer(timer);
      };
      this.wakeCloser = check;
      arm(limit);
      check();
    });
  }

  /**
   * How long the peer may be silent while we wait for it to finish the close handshake. A
   * live peer sends at least a heartbeat every heartbeatIntervalMs until it has answered.
   */
  private get closeSilenceMs(): number {
    const { heartbeatIntervalMs, closeTimeoutMs } = this.options;
    return heartbeatIntervalMs > 0 ? Math.min(closeTimeoutMs, heartbeatIntervalMs + CLOSE_SILENCE_MARGIN_MS) : closeTimeoutMs;
  }

  /** Sends a control message if the port can take it; returns whether it did. */
  private sendControl(message: Uint8Array): boolean {
    if (!this.port.isOpen) return false;
    try {
      this.port.send(message);
      return true;
    } catch {
      // The port is failing already; closing it is all that is left.
      return false;
    }
  }

  private maxCloseReasonBytes(): number {
    return Math.min(MAX_CLOSE_REASON_BYTES, this.port.maxMessageSize - HEADER_SIZE);
  }

  /** Sends a CLOSE message if the port can take it (not waiting for an answer); returns whether it did. */
  private sendCloseBestEffort(reason: string): boolean {
    return this.sendControl(encodeClose(reason, this.maxCloseReasonBytes()));
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  /** Resolves when the port's buffer is empty, the channel ended, or `timeoutMs` passed. */
  private async bufferEmptied(timeoutMs: number): Promise<void> {
    const deadline = this.now() + timeoutMs;
    while (this.state !== "closed" && this.port.bufferedAmount > 0 && this.now() < deadline) {
      await sleep(CLOSE_POLL_MS);
    }
  }

  /** Ends the channel because of `error`, telling the peer why if the link still works. */
  private fail(error: Error): void {
    if (this.state === "closing") {
      // A graceful close is under way; it will not finish if the handler broke, so end now.
      this.finish({ reason: error.message, error, remote: false });
      return;
    }
    this.beginClose({ reason: error.message, error, remote: false });
  }

  private readonly handlePortClose = (): void => {
    // While we close, the peer closing its end in answer to our CLOSE is the expected outcome.
    this.finish(this.closing ?? { reason: "data channel closed without a close message", remote: true });
  };

  private readonly handlePortError = (error: Error): void => {
    this.finish({ reason: `data channel error: ${error.message}`, error, remote: true });
  };

  /** The single place where the channel ends: stops everything, releases the port, settles `closed`. */
  private finish(info: CloseInfo, { keepPortOpen = false } = {}): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.closeInfo = info;
    this.resolveEnding(info);
    this.wakeCloser?.();
    for (const delivered of this.deliveredWaiters.splice(0)) delivered();

    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    if (this.watchdogTimer !== null) clearTimeout(this.watchdogTimer);
    this.heartbeatTimer = null;
    this.watchdogTimer = null;

    this.reassembler.reset();
    this.inbox.clear();
    this.inboxBytes = 0;
    this.reportHeld();
    const waiter = this.drainWaiter;
    this.drainWaiter = null;
    waiter?.reject(this.notWritableError());

    // Detach before closing so the port's own close event is not taken for the peer's.
    this.port.onMessage(null);
    this.port.onBufferedAmountLow(null);
    this.port.onClose(null);
    this.port.onError(null);
    try {
      if (!keepPortOpen) this.port.close();
    } catch {
      // Closing is best effort; the channel has ended either way.
    }
    this.resolveClosed(info);
  }
}

/** A write waiting in the outbox. */
interface PendingWrite {
  frame: Uint8Array;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Resolves when `promise` settles or after `ms`, whichever is first. */
function settledOrTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    unrefTimer(timer);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => unrefTimer(setTimeout(resolve, ms)));
}

/** Lets Node exit even if this timer is pending (browsers have no unref). */
function unrefTimer(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}

function monotonicNow(): number {
  return performance.now();
}

function isPromiseLike(value: unknown): value is PromiseLike<void> {
  return typeof (value as PromiseLike<void> | undefined)?.then === "function";
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
