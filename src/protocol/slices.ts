/**
 * Sharing the thread while a large frame is decoded: the server runs every session on one
 * thread, so a frame that takes long to inflate or decode is processed in short slices, and
 * between slices the event loop runs everything else (other sessions' messages, heartbeats,
 * timers). A frame that fits in one slice is processed without ever pausing, so small
 * messages cost no extra turn of the event loop. Platform-free.
 */
import { ProtocolError } from "./messages.js";

/** How decoding shares the thread: when a slice is over and how to give the thread back. */
export interface SliceScheduler {
  /** Current time in milliseconds (monotonic). */
  now(): number;
  /** Resolves after other pending work (I/O, timers) has had its turn. */
  pause(): Promise<void>;
  /** Longest stretch of work before pausing, in milliseconds. */
  sliceMs: number;
}

/** Gives the thread back through the event loop's check phase, after pending I/O has run. */
function pauseForIo(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;
  return new Promise((resolve) => (immediate ? immediate(resolve) : setTimeout(resolve, 0)));
}

/** Slices of about 5 ms on the real clock. */
export const defaultSliceScheduler: SliceScheduler = {
  now: () => performance.now(),
  pause: pauseForIo,
  sliceMs: 5,
};

/** What the caller of a sliced decode may watch and stop, at each pause between slices. */
export interface SliceHooks {
  /** Stops the work at its next pause: it then rejects with a ProtocolError. */
  signal?: AbortSignal;
  /**
   * Told at each pause how many bytes of memory the work holds beyond its input (what a frame
   * inflated to, the values decoded so far), so that a server can count it against its memory
   * limit and stop the largest holders.
   */
  onHeldBytes?(bytes: number): void;
}

/** The slices of one frame's processing, and the processing time they add up to. */
export class Slices {
  /** Bytes the work holds beyond its input right now; reported at every pause. */
  held = 0;
  private sliceStart: number;
  private spent = 0;

  constructor(
    private readonly scheduler: SliceScheduler,
    /** Most processing time (slices summed, pauses not counted) before the frame is refused. */
    private readonly maxMs: number,
    private readonly hooks: SliceHooks = {},
  ) {
    this.sliceStart = scheduler.now();
  }

  /** True when the current slice has used up its time. */
  get due(): boolean {
    return this.scheduler.now() - this.sliceStart >= this.scheduler.sliceMs;
  }

  /** Ends the slice, checks the time budget, gives the thread back, starts the next slice. */
  async pause(): Promise<void> {
    this.check();
    this.hooks.onHeldBytes?.(this.held);
    this.checkStopped();
    await this.scheduler.pause();
    this.checkStopped();
    this.sliceStart = this.scheduler.now();
  }

  private checkStopped(): void {
    const signal = this.hooks.signal;
    if (signal?.aborted) throw new ProtocolError(`decoding stopped: ${signal.reason instanceof Error ? signal.reason.message : String(signal.reason)}`);
  }

  /** Throws when the frame has taken more processing time than allowed. */
  check(): void {
    const now = this.scheduler.now();
    this.spent += now - this.sliceStart;
    this.sliceStart = now;
    if (this.spent > this.maxMs) {
      throw new ProtocolError(`the frame took more than ${this.maxMs} ms of processing to decode (limit maxFrameDecodeMs)`);
    }
  }
}
