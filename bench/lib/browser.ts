/**
 * Chromium for the benchmarks: one browser for the whole run (launched with the test
 * helper's flags), a fresh page per measurement, the bench page bundle, and the RSS of the
 * renderer that runs a page (read from /proc; the data channel's SCTP stack runs in the
 * renderer).
 */
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CDPSession, Page } from "playwright-core";
import { build } from "esbuild";
import { launchBrowser, type TestBrowser } from "../../test/helpers/browser.js";
import { deadline } from "./agents.js";
import type { DriverOp } from "../shared/driver.js";

const ENTRY = fileURLToPath(new URL("../../../bench/browser/page-entry.ts", import.meta.url));
export const PAGE_BUNDLE = fileURLToPath(new URL("../browser/bench-page.js", import.meta.url));

/** Bundle bench/browser/page-entry.ts for the page (the build script only bundles src/browser). */
export async function bundlePageScript(): Promise<void> {
  await build({
    entryPoints: [ENTRY],
    outfile: PAGE_BUNDLE,
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2020",
    logLevel: "warning",
  });
}

/**
 * Runs before the page's scripts: stamps `__benchOpenAt` (ms since navigation start) when
 * the Bonito runtime first reports the connection open, by hooking `window.Bonito` as
 * runtime.js assigns it.
 */
const OPEN_HOOK = `(() => {
  let runtime;
  Object.defineProperty(window, "Bonito", {
    configurable: true,
    enumerable: true,
    get() { return runtime; },
    set(value) {
      runtime = value;
      try {
        value.on_status_change((status) => {
          if (status === "open" && window.__benchOpenAt === undefined) window.__benchOpenAt = performance.now();
        });
      } catch (error) {}
    },
  });
})();`;

/** A page with a bench endpoint. */
export class BenchPage {
  private profiler: { cdp: CDPSession; file: string } | undefined;

  constructor(readonly page: Page) {}

  /** Record a V8 CPU profile of the page's JavaScript until close() (written to `file`). */
  async startProfile(cdp: CDPSession, file: string): Promise<void> {
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 250 });
    await cdp.send("Profiler.start");
    this.profiler = { cdp, file };
  }

  op<T = any>(name: DriverOp, args: unknown = {}, timeoutMs = 60_000): Promise<T> {
    return deadline(
      this.page.evaluate(([n, a]) => (window as any).BenchPage.op(n, a), [name, args] as const) as Promise<T>,
      timeoutMs,
      `page: ${name} took longer than ${timeoutMs} ms`,
    );
  }

  /** ms from navigation start to the connection opening, as the page measured it. */
  openedAfterMs(): Promise<number | undefined> {
    return this.page.evaluate(() => (window as any).__benchOpenAt ?? (window as any).BenchPage?.openAt);
  }

  async close(): Promise<void> {
    const profiler = this.profiler;
    this.profiler = undefined;
    if (profiler) {
      try {
        const { profile } = await deadline(profiler.cdp.send("Profiler.stop"), 10_000, "page profile");
        await writeFile(profiler.file, JSON.stringify(profile));
      } catch {
        // A page that crashed or hung has no profile to give.
      }
    }
    return deadline(this.page.close(), 5000, "page close").catch(() => {});
  }
}

export class BenchBrowser {
  private cdp: CDPSession | undefined;
  private pages = 0;
  private constructor(
    private readonly browser: TestBrowser,
    /** With `--profile DIR`: each page records a CPU profile into DIR. */
    private readonly profileDir?: string,
  ) {}

  static async launch(profileDir?: string): Promise<BenchBrowser> {
    return new BenchBrowser(await launchBrowser(), profileDir);
  }

  /** Start the page's CPU profile (after it connected, so page loading is not in it) when profiling. */
  private async maybeProfile(bench: BenchPage, label: string): Promise<void> {
    if (!this.profileDir) return;
    const cdp = await this.browser.context.newCDPSession(bench.page);
    await bench.startProfile(cdp, join(this.profileDir, `page-${label}.${Date.now()}-${++this.pages}.cpuprofile`));
  }

  get version(): string {
    return this.browser.context.browser()?.version() ?? "unknown";
  }

  /** Open a Bonito session page at `url` and wait until it is connected. */
  async openBonito(url: string, timeoutMs = 30_000, label = "bonito"): Promise<BenchPage> {
    const page = await this.browser.newPage();
    const bench = new BenchPage(page);
    try {
      await page.addInitScript(OPEN_HOOK);
      await page.goto(url);
      await page.waitForFunction(() => (window as any).__benchOpenAt !== undefined, null, { timeout: timeoutMs });
      await page.addScriptTag({ path: PAGE_BUNDLE });
      await page.evaluate(() => (window as any).BenchPage.useBonito());
      await this.maybeProfile(bench, label);
      return bench;
    } catch (error) {
      await bench.close();
      throw error;
    }
  }

  /** Open a bare server's page (it connects by itself) and wait for its channel. */
  async openBare(url: string, timeoutMs = 30_000, label = "bare"): Promise<BenchPage> {
    const page = await this.browser.newPage();
    const bench = new BenchPage(page);
    try {
      await page.goto(url);
      await page.waitForFunction(() => (window as any).BenchPage?.ready() || (window as any).BenchPage?.error, null, { timeout: timeoutMs });
      const error = await page.evaluate(() => (window as any).BenchPage.error as string | undefined);
      if (error) throw new Error(`bare page: ${error}`);
      await this.maybeProfile(bench, label);
      return bench;
    } catch (error) {
      await bench.close();
      throw error;
    }
  }

  /** Chromium's processes: type (browser, renderer, GPU, network service, ...), pid, CPU seconds so far. */
  async processes(): Promise<Array<{ type: string; pid: number; cpu: number }>> {
    this.cdp ??= await this.browser.context.browser()!.newBrowserCDPSession();
    const info = (await this.cdp.send("SystemInfo.getProcessInfo")) as { processInfo: Array<{ type: string; id: number; cpuTime: number }> };
    return info.processInfo.map((p) => ({ type: p.type, pid: p.id, cpu: p.cpuTime }));
  }

  /** Renderer processes (pid, CPU seconds so far). */
  async renderers(): Promise<Array<{ pid: number; cpu: number }>> {
    return (await this.processes()).filter((p) => p.type === "renderer");
  }

  async close(): Promise<void> {
    await deadline(this.browser.close(), 10_000, "browser close").catch(() => {});
  }
}

/** VmRSS of `pid` in bytes, or null if unreadable. */
export function processRss(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Peak RSS of the renderer that works hardest between start() and stop(): every renderer
 * is sampled, and the one whose CPU time grew most is taken as the page's.
 */
export class RendererRssWatch {
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly peaks = new Map<number, { before: number; peak: number }>();
  private cpuBefore = new Map<number, number>();

  constructor(private readonly browser: BenchBrowser) {}

  async start(intervalMs = 20): Promise<void> {
    const renderers = await this.browser.renderers();
    this.cpuBefore = new Map(renderers.map((r) => [r.pid, r.cpu]));
    for (const { pid } of renderers) {
      const rss = processRss(pid);
      if (rss !== null) this.peaks.set(pid, { before: rss, peak: rss });
    }
    this.timer = setInterval(() => {
      for (const [pid, entry] of this.peaks) entry.peak = Math.max(entry.peak, processRss(pid) ?? 0);
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<{ pid: number; before: number; peak: number } | null> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const renderers = await this.browser.renderers();
    let best: { pid: number; grew: number } | null = null;
    for (const r of renderers) {
      const grew = r.cpu - (this.cpuBefore.get(r.pid) ?? r.cpu);
      if (this.peaks.has(r.pid) && (!best || grew > best.grew)) best = { pid: r.pid, grew };
    }
    if (!best) return null;
    const entry = this.peaks.get(best.pid)!;
    return { pid: best.pid, before: entry.before, peak: entry.peak };
  }
}
