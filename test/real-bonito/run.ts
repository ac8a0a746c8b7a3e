/**
 * Runs our pages under Bonito's own JavaScript runtime instead of ours:
 *
 *   npm run check:real-bonito -- /path/to/Bonito.jl/js_dependencies/Bonito.bundled.js
 *
 * Bonito's bundle is not part of this repository (and CI has no copy); pass the path of one
 * from a Bonito.jl 5.x checkout. Chromium loads our page from our `serve()`, except that
 * `/bonito/runtime.js` is answered with that bundle; our WebSocket and WebRTC glue then drive
 * Bonito's runtime. For each transport and compression setting it checks that the page loads
 * with no error report, that observables, typed arrays (a large, 8-byte-aligned one too),
 * updates both ways, `evaljs` and a sub-session (shown, then removed from the page) work, and
 * prints one line per setting.
 * Exits 1 if any check failed.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Page } from "playwright-core";
import { serve, WebSocketConnection, type FrontendReport, type Session } from "../../src/index.js";
import { WebRTCConnection } from "../../src/webrtc/index.js";
import { launchBrowser, type TestBrowser } from "../helpers/browser.js";

interface Outcome {
  transport: string;
  compression: boolean;
  checks: string[];
  problems: string[];
}

const TIMEOUT_MS = 20_000;

/** Resolves when `condition` holds, polling (a diagnostic tool, not a test: time bounds only). */
async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function runScenario(browser: TestBrowser, bundle: Buffer, transport: "websocket" | "webrtc", compression: boolean): Promise<Outcome> {
  const outcome: Outcome = { transport, compression, checks: [], problems: [] };
  const reports: FrontendReport[] = [];
  const received: unknown[] = [];
  let root: Session | undefined;
  const server = await serve(
    (session) => {
      root = session;
      session.onFrontendReport((report) => reports.push(report));
      session.observable(1, "count");
      session.observable(new Float64Array([0.5, -0, 2]), "wave");
      session.observable(-0, "minus-zero");
      session.observable<unknown>(null, "back").on((value) => received.push(value));
      void session.evaljs("window.__evaljs = (window.__evaljs ?? 0) + 1;");
      return `<p id="app">served by bonito-webrtc, run by Bonito's own runtime</p><div data-jscall-id="slot"></div>`;
    },
    {
      compression,
      connection: () => (transport === "webrtc" ? new WebRTCConnection({ iceServers: [] }) : new WebSocketConnection()),
    },
  );
  let page: Page | undefined;
  try {
    page = await browser.newPage();
    page.on("pageerror", (error) => outcome.problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") outcome.problems.push(`console error: ${message.text().split("\n")[0]}`);
    });
    await page.route("**/bonito/runtime.js", (route) => route.fulfill({ body: bundle, contentType: "text/javascript; charset=utf-8" }));
    await page.goto(server.url);
    await until("the session to be ready", () => root?.status === "open");
    outcome.checks.push("loaded");

    const initial = await page.evaluate(() => {
      const Bonito = (window as any).Bonito;
      const wave = Bonito.lookup_global_object("wave").value;
      return {
        count: Bonito.lookup_global_object("count").value,
        wave: [wave.constructor.name, Object.is(wave[1], -0), wave.length],
        minusZero: Object.is(Bonito.lookup_global_object("minus-zero").value, -0),
        evaljs: (window as any).__evaljs,
      };
    });
    expect(outcome, "initial values", initial, { count: 1, wave: ["Float64Array", true, 3], minusZero: true, evaljs: 1 });

    const count = root!.observable<number>(0, "count");
    await count.set(2);
    await page.waitForFunction(() => (window as any).Bonito.lookup_global_object("count").value === 2, null, { timeout: TIMEOUT_MS });
    outcome.checks.push("server→page update");

    await page.evaluate(() => {
      const back = (window as any).Bonito.lookup_global_object("back");
      back.notify(new Float32Array([1.5, -2]));
      back.notify(new Uint8ClampedArray([0, 255]));
    });
    await until("the page's updates", () => received.length >= 2);
    const shown = received.map((value) => [(value as object).constructor.name, Array.from(value as ArrayLike<number>)]);
    expect(outcome, "page→server typed arrays", shown, [["Float32Array", [1.5, -2]], ["Uint8Array", [0, 255]]]);

    // A typed array of 64 KiB or more: our envelope pads it to an 8-byte boundary; Bonito's runtime must read it the same.
    const big = Float64Array.from({ length: 100_003 }, (_, i) => i * 0.5);
    await root!.observable<Float64Array>(new Float64Array(), "wave").set(big);
    await page.waitForFunction(() => (window as any).Bonito.lookup_global_object("wave").value.length === 100_003, null, { timeout: TIMEOUT_MS });
    const tail = await page.evaluate(() => {
      const wave = (window as any).Bonito.lookup_global_object("wave").value;
      return [wave.constructor.name, wave[0], wave[1], wave[100_002]];
    });
    expect(outcome, "large aligned Float64Array", tail, ["Float64Array", 0, 0.5, 50_001]);

    await root!.evaljs("window.__evaljs += 1;");
    await page.waitForFunction(() => (window as any).__evaljs === 2, null, { timeout: TIMEOUT_MS });
    outcome.checks.push("evaljs");

    const sub = await root!.updateDom("slot", (s: Session) => {
      s.observable("sub value", "sub-text");
      return `<span id="sub-content">sub-session content</span>`;
    });
    await until("the sub-session to be ready", () => sub.status === "open");
    await page.waitForSelector("#sub-content", { timeout: TIMEOUT_MS });
    outcome.checks.push("sub-session shown");
    await page.evaluate((id) => document.getElementById(id)?.remove(), sub.id);
    await until("the sub-session to close", () => sub.status === "closed");
    expect(outcome, "root still open after its sub-session closed", root!.status, "open");

    if (reports.length > 0) outcome.problems.push(...reports.map((r) => `frontend report: ${r.message} ${r.exception ?? ""}`));
  } catch (error) {
    outcome.problems.push(`failed: ${(error as Error).message}`);
  } finally {
    await page?.close().catch(() => {});
    await server.close();
  }
  return outcome;
}

function expect(outcome: Outcome, what: string, actual: unknown, expected: unknown): void {
  if (JSON.stringify(actual) === JSON.stringify(expected)) outcome.checks.push(what);
  else outcome.problems.push(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

async function main(): Promise<number> {
  const path = process.argv[2] ?? process.env.BONITO_BUNDLE;
  if (!path) {
    console.error("usage: npm run check:real-bonito -- /path/to/Bonito.jl/js_dependencies/Bonito.bundled.js");
    return 2;
  }
  const bundle = await readFile(resolve(path));
  if (!bundle.includes("init_session") || !bundle.includes("process_message")) {
    console.error(`${path} does not look like Bonito's runtime bundle (no init_session/process_message)`);
    return 2;
  }
  const browser = await launchBrowser();
  const outcomes: Outcome[] = [];
  try {
    for (const transport of ["websocket", "webrtc"] as const) {
      for (const compression of [false, true]) outcomes.push(await runScenario(browser, bundle, transport, compression));
    }
  } finally {
    await browser.close();
  }
  for (const o of outcomes) {
    const verdict = o.problems.length === 0 ? "ok  " : "FAIL";
    console.log(`${verdict} ${o.transport.padEnd(9)} compression ${o.compression ? "on " : "off"}  ${o.checks.length} checks passed, ${o.problems.length} problems`);
    for (const problem of o.problems) console.log(`       ${problem}`);
  }
  return outcomes.every((o) => o.problems.length === 0) ? 0 : 1;
}

process.exitCode = await main();
