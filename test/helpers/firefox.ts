/**
 * Launches the machine's Firefox ESR (Debian's `firefox-esr`, never a downloaded one)
 * headless with a fresh profile, driven by puppeteer-core over WebDriver BiDi. (Playwright
 * drives only its own patched Firefox build, so it cannot be used here.)
 *
 * Firefox never gathers a 127.0.0.1 candidate, so a page that should reach a Node peer must
 * be served on one of this host's interface addresses: see {@link interfaceAddress}.
 */
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import type { SuiteBrowser, SuitePage } from "./browser-suite.js";
import { mkdtemp, rm } from "node:fs/promises";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";

export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";

const PREFS: Record<string, unknown> = {
  // Host candidates with real addresses, not mDNS names: a test machine has no multicast DNS.
  "media.peerconnection.ice.obfuscate_host_addresses": false,
  // Lets ICE pair candidates on this host's own addresses.
  "media.peerconnection.ice.loopback": true,
  // No first-run pages, telemetry or update checks in a throwaway profile.
  "browser.shell.checkDefaultBrowser": false,
  "datareporting.policy.dataSubmissionEnabled": false,
  "app.update.enabled": false,
};

export interface TestFirefox {
  browser: Browser;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Start Firefox; always `close()` it (it removes the profile too). */
export async function launchFirefox(): Promise<TestFirefox> {
  const profile = await mkdtemp(join(tmpdir(), "bonito-firefox-"));
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      browser: "firefox",
      executablePath: FIREFOX_PATH,
      protocol: "webDriverBiDi",
      headless: true,
      userDataDir: profile,
      extraPrefsFirefox: PREFS,
      timeout: 60_000,
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  return {
    browser,
    async newPage() {
      const page = await browser.newPage();
      page.setDefaultTimeout(20_000);
      return page;
    },
    async close() {
      await browser.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * This host's first non-loopback IPv4 address, where Firefox finds a candidate to pair
 * with a Node peer. Throws (never skips) when the host has none: the Firefox tests need one.
 */
export function interfaceAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === "IPv4" && !address.internal) return address.address;
    }
  }
  throw new Error("this host has no non-loopback IPv4 address; Firefox gathers no 127.0.0.1 candidate, so its WebRTC tests need one");
}

/** Firefox as the shared browser suite drives it. */
export async function firefoxSuiteBrowser(): Promise<SuiteBrowser> {
  const firefox = await launchFirefox();
  return {
    async newPage(): Promise<SuitePage> {
      const page = await firefox.newPage();
      page.on("pageerror", (error) => console.error("firefox page error:", (error as Error).message));
      return {
        goto: async (url) => void (await page.goto(url)),
        evaluate: (fn, arg) => page.evaluate(fn as never, arg) as never,
        close: () => page.close(),
      };
    },
    close: () => firefox.close(),
  };
}
