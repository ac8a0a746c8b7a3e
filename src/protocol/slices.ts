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

/** The slices of one frame's processing, and the processing time they add up to. */
export class Slices {
  private sliceStart: number;
  private spent = 0;

  constructor(
    private readonly scheduler: SliceScheduler,
    /** Most processing time (slices summed, pauses not counted) before the frame is refused. */
    private readonly maxMs: number,
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
    await this.scheduler.pause();
    this.sliceStart = this.scheduler.now();
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
