/**
 * Launches the machine's Chromium (never a downloaded one) headless with a fresh profile,
 * with the flags this sandbox needs and WebRTC over loopback working (ARCHITECTURE.md lists the pitfalls).
 */
import { chromium, type BrowserContext, type Page } from "playwright-core";
import type { SuiteBrowser, SuitePage } from "./browser-suite.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // Loopback WebRTC must not depend on multicast DNS for .local candidates.
  "--disable-features=WebRtcHideLocalIpsWithMdns",
];

export interface TestBrowser {
  context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** Another Chromium executable, e.g. a wrapper that runs it inside a network namespace. */
  executablePath?: string;
  /** Flags on top of the usual ones. */
  extraArgs?: string[];
}

/** Start a browser; always `close()` it (it removes the profile too). */
export async function launchBrowser(options: LaunchOptions = {}): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), "bonito-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: options.executablePath ?? CHROMIUM_PATH,
    headless: true,
    args: [...ARGS, ...(options.extraArgs ?? [])],
    timeout: 30_000,
  });
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Chromium as the shared browser suite drives it. */
export async function chromiumSuiteBrowser(): Promise<SuiteBrowser> {
  const browser = await launchBrowser();
  return {
    async newPage(): Promise<SuitePage> {
      const page = await browser.newPage();
      page.on("pageerror", (error) => console.error("page error:", error.message));
      return {
        goto: async (url) => void (await page.goto(url)),
        evaluate: (fn, arg) => page.evaluate(fn as never, arg as never) as never,
        close: () => page.close(),
      };
    },
    close: () => browser.close(),
  };
}
