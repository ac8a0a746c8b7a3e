/**
 * What a session sends, on its way to the connection: messages queued while the frontend is
 * not ready, frames being compressed, frames written and not yet taken by the transport. All
 * of it counts against `maxSendQueueBytes`, the bound on what a frontend that does not read
 * can make the server hold. Frames leave in the order their messages were sent, and a message
 * whose write fails because the link dropped goes back into the queue, in its place, for the
 * reconnect.
 */
import { approximateBytes } from "./message-size.js";
import { gzip, gzipInSlices, type BonitoMessage, type SerializedMessage } from "../protocol/index.js";

/** A message of the session, or one a sub-session sends through it with its own envelope. */
export type OutgoingMessage = BonitoMessage | SerializedMessage;

/** A message waiting to be sent, with the promise of whoever sent it. */
export interface QueuedMessage {
  /** Send order, so messages re-queued after a dropped write keep their place. */
  readonly seq: number;
  readonly message: OutgoingMessage;
  /** What this message counts against `maxSendQueueBytes` while it waits in the queue. */
  bytes: number;
  resolve(): void;
  reject(error: Error): void;
}

/** The part of a connection the outbox uses. */
export interface FrameSink {
  /** Resolves when the transport has taken the frame. */
  write(frame: Uint8Array): Promise<void>;
  isOpen(): boolean;
}

export interface OutboxOptions {
  /** The session's id, named in errors. */
  readonly sessionId: string;
  readonly connection: FrameSink;
  /** Whether frames are gzipped (the session's compression setting). */
  readonly compression: boolean;
  readonly maxSendQueueBytes: number;
  /** Lays out one uncompressed frame carrying `messages` (one message, or several fused). */
  encode(messages: readonly OutgoingMessage[]): Uint8Array;
  /** True once the session has ended: nothing goes out any more. */
  isClosed(): boolean;
  /** What waits to be sent passed `maxSendQueueBytes`: the frontend is not reading. */
  overflowed(error: Error): void;
}

/** Frames up to this size are compressed at once; larger ones in slices (a few ms of deflate each). */
const COMPRESS_AT_ONCE_BYTES = 256 * 1024;

function noop(): void {}

export class Outbox {
  private queue: QueuedMessage[] = [];
  private nextSeq = 0;
  private queuedBytes = 0;
  /** Bytes of frames written and not yet taken by the transport. */
  private inFlightBytes = 0;
  /** Large frames being compressed in slices, in send order (null when none is); later frames wait for them. */
  private compressing: Promise<void> | null = null;
  /** Bytes of the frames waiting in {@link compressing}. */
  private compressingBytes = 0;

  constructor(private readonly options: OutboxOptions) {}

  /**
   * Send `message`: written at once when the frontend is `ready` and nothing waits before it,
   * queued otherwise. Resolves when the transport has taken it; rejects if the session ends
   * first. The rejection never goes unhandled: ignoring the promise is safe.
   */
  send(message: OutgoingMessage, ready: boolean): Promise<void> {
    const sent = new Promise<void>((resolve, reject) => {
      const entry: QueuedMessage = { seq: this.nextSeq++, message, bytes: 0, resolve, reject };
      if (ready && this.queue.length === 0) return this.write([entry]);
      entry.bytes = approximateBytes(message, this.options.maxSendQueueBytes + 1);
      this.queue.push(entry);
      this.queuedBytes += entry.bytes;
      this.checkLimit(entry.bytes);
    });
    sent.catch(noop);
    return sent;
  }

  /** Writes everything queued as one frame. False when nothing was queued. */
  flush(): boolean {
    if (this.queue.length === 0) return false;
    this.write(this.take());
    return true;
  }

  /** Empties the queue without sending, for messages that leave it another way (or not at all). */
  take(): QueuedMessage[] {
    const entries = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    return entries;
  }

  /** Ends the session when `adding` bytes took what waits to be sent past `maxSendQueueBytes`. */
  private checkLimit(adding: number): void {
    const waiting = this.queuedBytes + this.inFlightBytes + this.compressingBytes;
    const max = this.options.maxSendQueueBytes;
    // A single frame larger than the limit may go out alone.
    if (waiting <= max || waiting === adding) return;
    this.options.overflowed(
      new Error(`the frontend is not reading: ${waiting} bytes wait to be sent, above maxSendQueueBytes (${max} bytes)`),
    );
  }

  /** Encodes `batch` as one frame, compresses it if the session does, and hands it on. */
  private write(batch: QueuedMessage[]): void {
    const { compression } = this.options;
    let frame: Uint8Array;
    let atOnce: boolean;
    try {
      frame = this.options.encode(batch.map((entry) => entry.message));
      atOnce = !compression || (this.compressing === null && frame.byteLength <= COMPRESS_AT_ONCE_BYTES);
      if (compression && atOnce) frame = gzip(frame);
    } catch (error) {
      for (const entry of batch) entry.reject(error as Error);
      return;
    }
    if (atOnce) this.transmit(frame, batch);
    else this.compressInSlices(frame, batch);
  }

  /**
   * A large frame (an app may echo what a visitor sent, up to `maxFrameSize`) is compressed in
   * slices, so that other sessions are served meanwhile. Frames written after it wait for it.
   */
  private compressInSlices(frame: Uint8Array, batch: QueuedMessage[]): void {
    const waiting = frame.byteLength;
    this.compressingBytes += waiting;
    this.checkLimit(waiting);
    const chain = (this.compressing ?? Promise.resolve()).then(async () => {
      try {
        if (this.options.isClosed()) throw new Error(`session ${this.options.sessionId} closed before the message was sent`);
        const compressed = await gzipInSlices(frame);
        this.compressingBytes -= waiting;
        this.transmit(compressed, batch);
      } catch (error) {
        this.compressingBytes -= waiting;
        for (const entry of batch) entry.reject(error as Error);
      }
    });
    this.compressing = chain;
    void chain.then(() => {
      if (this.compressing === chain) this.compressing = null;
    });
  }

  /** Hands an encoded frame to the connection, counting it against the limit until it is taken. */
  private transmit(frame: Uint8Array, batch: QueuedMessage[]): void {
    const { connection } = this.options;
    const size = frame.byteLength;
    this.inFlightBytes += size;
    this.checkLimit(size);
    if (this.options.isClosed()) {
      this.inFlightBytes -= size;
      const error = new Error(`session ${this.options.sessionId} closed before the message was sent`);
      for (const entry of batch) entry.reject(error);
      return;
    }
    connection.write(frame).then(
      () => {
        this.inFlightBytes -= size;
        for (const entry of batch) entry.resolve();
      },
      (error: Error) => {
        this.inFlightBytes -= size;
        if (!this.options.isClosed() && !connection.isOpen()) {
          // The link dropped under this write; keep the messages for the reconnect
          // instead of losing what the caller already handed us.
          batch.forEach((entry, i) => (entry.bytes = i === 0 ? size : 0));
          this.queue = [...batch, ...this.queue].sort((a, b) => a.seq - b.seq);
          this.queuedBytes += size;
          this.checkLimit(size);
        } else {
          for (const entry of batch) entry.reject(error);
        }
      },
    );
  }
}
