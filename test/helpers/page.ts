/** Page-side helpers: open a served session in Chromium and drive the echo app from the page. */
import type { Page } from "playwright-core";
import type { TestBrowser } from "./browser.js";

/** What the page helpers need from a page, whichever browser driver made it. */
export interface EvaluatingPage {
  /** Runs `fn(arg)` in the page (both are serialized) and resolves with its result. */
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
}

/** Open `url` and wait until the session is connected and the handshake sent. */
export async function openPage(browser: TestBrowser, url: string): Promise<Page> {
  const page = await browser.newPage();
  page.on("pageerror", (error) => console.error("page error:", error.message));
  await page.goto(url);
  await page.evaluate(() => (window as any).Bonito.wait_for_connection());
  return page;
}

/**
 * In the page: build `size` pattern bytes (same xorshift as patternBytes), set `input`,
 * wait for `output`, and compare byte by byte there (moving megabytes through the test
 * protocol would measure Playwright, not us).
 */
export function pageEcho(page: Page | EvaluatingPage, size: number, seed = size + 7): Promise<{ length: number; equal: boolean; type: string }> {
  return (page as EvaluatingPage).evaluate(
    async ([size, seed]) => {
      const bytes = new Uint8Array(size);
      let x = seed >>> 0 || 1;
      for (let i = 0; i < size; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        bytes[i] = x & 0xff;
      }
      const Bonito = (window as any).Bonito;
      const output = Bonito.observable("output");
      const echoed: Uint8Array = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no echo within 120 s")), 120_000);
        const off = output.on((value: Uint8Array) => {
          clearTimeout(timer);
          off();
          resolve(value);
        });
        Bonito.observable("input").set(bytes);
      });
      let equal = echoed.length === bytes.length;
      for (let i = 0; equal && i < bytes.length; i++) equal = echoed[i] === bytes[i];
      return { length: echoed.length, equal, type: echoed.constructor.name };
    },
    [size, seed] as const,
  );
}
