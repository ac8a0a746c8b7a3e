/** Small helpers for the agent: bounded waits and RSS sampling. */

/** Resolves when `promise` settles or after `ms`, whichever is first; never rejects. */
export function closeWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}

/** Samples this process's RSS every `intervalMs` between start() and stop(). */
export class RssWatch {
  private timer: ReturnType<typeof setInterval> | null = null;
  private before = 0;
  private peak = 0;

  start(intervalMs = 10): { before: number } {
    this.stop();
    this.before = process.memoryUsage.rss();
    this.peak = this.before;
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, process.memoryUsage.rss());
    }, intervalMs);
    this.timer.unref();
    return { before: this.before };
  }

  stop(): { before: number; peak: number; after: number; maxRss: number } {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const after = process.memoryUsage.rss();
    this.peak = Math.max(this.peak, after);
    // ru_maxrss (KiB): the lifetime peak, which also catches spikes between samples.
    return { before: this.before, peak: this.peak, after, maxRss: process.resourceUsage().maxRSS * 1024 };
  }
}
