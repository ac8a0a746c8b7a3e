/**
 * Clocks that mean the same thing in every process on this machine: Node agents, the
 * orchestrator and Chromium pages. `epochNow()` is wall-clock milliseconds with
 * sub-millisecond resolution (Chromium coarsens it to 0.1 ms), so a start stamped by a
 * sender and an end stamped by a receiver in another process can be subtracted.
 */

/** Milliseconds since the Unix epoch, high resolution, comparable across processes. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Monotonic milliseconds for intervals measured within one process. */
export function monoNow(): number {
  return performance.now();
}

/** Resolves after `ms`; never keeps a Node process alive. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    (timer as { unref?: () => void }).unref?.();
  });
}
