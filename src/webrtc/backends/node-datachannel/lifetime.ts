/**
 * Lets a process that used node-datachannel exit on its own.
 *
 * node-datachannel delivers native events through N-API thread-safe functions, and each
 * one holds the event loop open until it is released. Closing a peer connection and its
 * data channels releases them in the normal case, but not all: a data channel that never
 * opened and is closed only through its peer connection never reports "closed", and its
 * callback stays registered for good (measured with 0.33.4). node-datachannel's remedy is
 * `cleanup()`, which closes every peer connection in the process and tears the native
 * threads down (the next peer connection starts them again).
 *
 * So: count the peer connections we made; when the last one has closed and none was made
 * for a short grace period, call `cleanup()`. The grace lets events already queued (the
 * channel's and the connection's "closed") reach JavaScript first. The timer is unref'd:
 * when nothing leaked, the process exits without waiting for it.
 *
 * `cleanup()` is global: it would also close peer connections that other code in the same
 * process made with node-datachannel directly. The README says so.
 */

/** Default wait after the last close before cleaning up, in ms. */
export const DEFAULT_CLEANUP_GRACE_MS = 200;

/** Counts live peer connections and runs `cleanup` once none is left. */
export class NativeLifetime {
  private live = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  /**
   * @param cleanup node-datachannel's global `cleanup()`.
   * @param graceMs how long the count must stay at zero before `cleanup` runs.
   */
  constructor(
    private readonly cleanup: () => void,
    private readonly graceMs = DEFAULT_CLEANUP_GRACE_MS,
  ) {}

  /** Peer connections created and not yet closed. */
  get liveCount(): number {
    return this.live;
  }

  /** A peer connection was created: a pending cleanup must not run. */
  opened(): void {
    this.live++;
    this.cancel();
  }

  /** A peer connection was closed (call once per connection). */
  closed(): void {
    this.live = Math.max(0, this.live - 1);
    if (this.live > 0) return;
    this.cancel();
    this.timer = setTimeout(() => this.run(), this.graceMs);
    this.timer.unref();
  }

  private run(): void {
    this.timer = null;
    // A connection made during the grace period keeps the stack in use.
    if (this.live > 0) return;
    try {
      this.cleanup();
    } catch (error) {
      // Only a native deadlock makes cleanup throw; nothing is left to close, so warn and go on.
      process.emitWarning(`node-datachannel cleanup failed: ${(error as Error).message}`);
    }
  }

  private cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
