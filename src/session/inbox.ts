/**
 * What a session receives: frames from its frontend, decoded one at a time in arrival order,
 * each in slices under the session's limits, while what they hold (bytes waiting, memory
 * spent decoding, and what the transport holds for frames still arriving) counts against the
 * server's inbound memory pool.
 */
import { channel } from "node:diagnostics_channel";
import type { InboundHolder, InboundMemory } from "./inbound-memory.js";
import { decodeClientFrameInSlices, type BonitoMessage, type FrameLimits } from "../protocol/index.js";

/**
 * Observability: `{ sessionId, phase: "start" | "end", bytes }` around the decoding of each
 * inbound frame, published only while someone subscribes (`diagnostics_channel`).
 */
export const FRAME_DECODE_CHANNEL = "bonito:session:decode";
const decodeChannel = channel(FRAME_DECODE_CHANNEL);

export interface InboxOptions {
  readonly sessionId: string;
  /** Whether frames from the frontend are compressed (zlib or gzip). */
  readonly compression: boolean;
  /** The budgets of one frame; `maxFrameSize` is read per frame (it is the connection's). */
  limits(): FrameLimits;
  /** The server's pool, and this session's place in it. */
  readonly memory: InboundMemory;
  readonly holder: InboundHolder;
  /** A decoded message, in arrival order. Throwing closes the session as for a bad frame. */
  dispatch(message: BonitoMessage): void;
  /** A frame could not be decoded or dispatched: the session must close. */
  rejected(error: Error): void;
}

export class Inbox {
  private chain: Promise<void> = Promise.resolve();
  private ended = false;
  /** Bytes the transport holds for frames not yet delivered (reported through the link). */
  private transportHeldBytes = 0;
  /** Bytes of frames delivered and not yet processed. */
  private waitingBytes = 0;
  /** Memory the frame being decoded holds beyond its bytes (inflated bytes, values decoded so far). */
  private decodingBytes = 0;
  /** Stops the decoding of a frame when the session closes. */
  private readonly decoding = new AbortController();

  constructor(private readonly options: InboxOptions) {}

  /** One frame from the frontend. The promise settles once it has been processed. */
  receive(frame: Uint8Array): Promise<void> {
    if (this.ended) return this.chain;
    const bytes = frame.byteLength;
    this.waitingBytes += bytes;
    this.updateHeldBytes();
    this.chain = this.chain.then(async () => {
      try {
        if (this.ended) return;
        const message = await this.decode(frame);
        if (!this.ended) this.options.dispatch(message);
      } catch (error) {
        this.options.rejected(error instanceof Error ? error : new Error(String(error)));
      } finally {
        this.waitingBytes -= bytes;
        this.updateHeldBytes();
      }
    });
    return this.chain;
  }

  /** The transport now holds `bytes` for frames it has not delivered yet. */
  transportHolds(bytes: number): void {
    this.transportHeldBytes = bytes;
    this.updateHeldBytes();
  }

  /** The session ended: stop decoding, process nothing more, and give the pool its bytes back. */
  end(reason: string): void {
    this.ended = true;
    // A string, not an Error: an Error's stack trace would keep the frame being decoded alive
    // for as long as the session object lives.
    this.decoding.abort(`session closed: ${reason}`);
    this.updateHeldBytes();
  }

  private async decode(frame: Uint8Array): Promise<BonitoMessage> {
    const { sessionId } = this.options;
    const hooks = {
      signal: this.decoding.signal,
      // What a large frame holds while it decodes counts against the server's memory limit too.
      onHeldBytes: (bytes: number) => {
        this.decodingBytes = bytes;
        this.updateHeldBytes();
      },
    };
    const publish = decodeChannel.hasSubscribers;
    if (publish) decodeChannel.publish({ sessionId, phase: "start", bytes: frame.byteLength });
    try {
      return await decodeClientFrameInSlices(frame, this.options.compression, this.options.limits(), undefined, hooks);
    } finally {
      this.decodingBytes = 0;
      this.updateHeldBytes();
      if (publish) decodeChannel.publish({ sessionId, phase: "end", bytes: frame.byteLength });
    }
  }

  /** Tells the server's pool what this session holds in frames not yet processed. */
  private updateHeldBytes(): void {
    const held = this.ended ? 0 : this.transportHeldBytes + this.waitingBytes + this.decodingBytes;
    this.options.memory.set(this.options.holder, held);
  }
}
