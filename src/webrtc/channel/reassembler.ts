/**
 * Turns the stream of data-channel messages back into frames and control
 * events.
 */
import { decodeBatch } from "./batch.js";
import { FORMAT_VERSION, FramingError, HEADER_SIZE, Kind, decodeHeader } from "./header.js";

/** What one inbound message amounted to, once it completes something. */
export type FrameEvent =
  | { kind: "frame"; frame: Uint8Array }
  /** A BATCH message: one or more whole frames, in order. */
  | { kind: "frames"; frames: Uint8Array[] }
  | { kind: "close"; reason: string }
  | { kind: "close-ack" }
  | { kind: "heartbeat" };

const textDecoder = new TextDecoder();

/**
 * Reassembles fragmented frames, one message at a time, in arrival order
 * (the channel is ordered and reliable, so no reordering is needed).
 * Control messages may arrive between the fragments of a frame (a heartbeat
 * sent while a large frame waits for backpressure) and do not disturb it.
 */
export class Reassembler {
  private readonly maxFrameSize: number;
  private fragments: Uint8Array[] = [];
  private bufferedBytes = 0;

  /** `maxFrameSize`: largest frame accepted, in bytes (payload, headers excluded). */
  constructor(maxFrameSize: number) {
    if (!(maxFrameSize >= 0)) throw new RangeError(`maxFrameSize must be >= 0, got ${maxFrameSize}`);
    this.maxFrameSize = maxFrameSize;
  }

  /** Bytes held for the frame currently being reassembled. */
  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  /**
   * Takes one message. Returns the event it completes, or null for a
   * fragment that is not the last. A frame that fits in one message is
   * returned as a view into `message` (no copy); a fragmented frame is
   * concatenated once, when its last fragment arrives; the frames of a
   * BATCH are views into `message` too.
   * Throws FramingError on an empty message, an unsupported version, an
   * unknown kind, a malformed BATCH or one inside a fragmented frame, or a
   * frame larger than maxFrameSize (detected on the fragment that crosses
   * the cap, before it is kept).
   */
  push(message: Uint8Array): FrameEvent | null {
    if (message.length < HEADER_SIZE) throw this.fail("empty message (no header byte)");
    const { version, kind } = decodeHeader(message[0]!);
    if (version !== FORMAT_VERSION) {
      throw this.fail(`unsupported framing version ${version} (header byte 0x${hex(message[0]!)}); this side speaks ${FORMAT_VERSION}`);
    }
    const payload = message.subarray(HEADER_SIZE);
    switch (kind) {
      case Kind.DATA_MORE:
        this.keep(payload);
        return null;
      case Kind.DATA_LAST:
        if (this.fragments.length === 0) {
          this.checkSize(payload.length);
          return { kind: "frame", frame: payload };
        }
        this.keep(payload);
        return { kind: "frame", frame: this.takeFrame() };
      case Kind.BATCH:
        if (this.fragments.length > 0) {
          throw this.fail(`a batch arrived inside a fragmented frame (after ${this.bufferedBytes} bytes of it)`);
        }
        try {
          return { kind: "frames", frames: decodeBatch(payload, this.maxFrameSize) };
        } catch (error) {
          throw this.fail((error as Error).message);
        }
      case Kind.CLOSE:
        return { kind: "close", reason: textDecoder.decode(payload) };
      case Kind.HEARTBEAT:
        return { kind: "heartbeat" };
      case Kind.CLOSE_ACK:
        return { kind: "close-ack" };
      default:
        throw this.fail(`unknown message kind ${kind} (header byte 0x${hex(message[0]!)})`);
    }
  }

  /** Drops any partial frame (used when the channel closes). */
  reset(): void {
    this.fragments = [];
    this.bufferedBytes = 0;
  }

  private keep(payload: Uint8Array): void {
    this.checkSize(this.bufferedBytes + payload.length);
    // Keep views, not copies: each inbound message is its own buffer, and
    // the single concatenation in takeFrame is the only copy we make.
    this.fragments.push(payload);
    this.bufferedBytes += payload.length;
  }

  private checkSize(size: number): void {
    if (size > this.maxFrameSize) {
      throw this.fail(`frame exceeds the maximum frame size of ${this.maxFrameSize} bytes (at least ${size} bytes)`);
    }
  }

  private takeFrame(): Uint8Array {
    const frame = new Uint8Array(this.bufferedBytes);
    let offset = 0;
    for (const fragment of this.fragments) {
      frame.set(fragment, offset);
      offset += fragment.length;
    }
    this.reset();
    return frame;
  }

  /** Resets (a broken stream cannot continue) and builds the error to throw. */
  private fail(message: string): FramingError {
    this.reset();
    return new FramingError(message);
  }
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
