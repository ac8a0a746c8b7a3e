/**
 * Stress: the 10,000-update echo over WebRTC with a werift server while the CPU is saturated on
 * purpose (busy-loop child processes, default two per core), repeated. `npm run stress:load`, or
 *
 *   node dist/test/stress/load-echo.js [runs=5] [frontends=node,chromium] [burners=2×cores]
 *
 * A Node frontend uses werift too. Each run prints whether every echo arrived, how many arrived
 * each way, how each end of the session ended and why, the longest wait of the server's
 * FramedChannel for its buffer to drain, the longest silence either Node end saw and the longest
 * event-loop delay. On a stall it also prints the werift data channel and SCTP state of each
 * Node end; with TRACE=1, werift's SCTP and connection events of the last 30 s go to a file.
 * WARM_UP=0 skips the echoes of 0 B to 32 MiB that come first (as in the in-order tests).
 * Exits 1 if any run stalled or failed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { serve } from "../../src/index.js";
import { WebRTCConnection } from "../../src/webrtc/index.js";
import { FramedChannel } from "../../src/webrtc/channel/index.js";
import { connectFrontend } from "../../src/frontend/node/index.js";
import { echoApp } from "../helpers/echo-app.js";
import { chromiumSuiteBrowser } from "../helpers/browser.js";
import { openSuitePage, type SuiteBrowser } from "../helpers/browser-suite.js";
import { pageEcho } from "../helpers/page.js";
import { MiB, nextValue, patternBytes } from "../helpers/payload.js";
import { clearSctpEvents, recentSctpEvents, traceConnection, traceSctp } from "./sctp-trace.js";

const runs = Number(process.argv[2] ?? 5);
const frontends = (process.argv[3] ?? "node,chromium").split(",");
const burnerCount = Number(process.argv[4] ?? 2 * availableParallelism());
const COUNT = 10_000;
/** Before the burst, one echo of each of these sizes in the same session, as the in-order tests do. */
const WARM_UP_SIZES = process.env.WARM_UP === "0" ? [] : [0, 1, 65_535, 65_536, 65_537, 262_145, MiB, 32 * MiB];
/** As long as the in-order test gives the echo. */
const TIMEOUT_MS = 200_000;
/** A closed session that made no progress for this long will make none. */
const GIVE_UP_AFTER_CLOSE_MS = 3000;

// ---- instrumentation: reaches into FramedChannel's private state, for diagnosis only ----

interface ChannelInternals {
  port: { bufferedAmount: number; dc?: WeriftChannelInternals };
  state: string;
  lastInbound: number;
  now(): number;
  outbox: { length: number };
  drainWaiter: unknown;
  waitForDrain(): Promise<void>;
  startHeartbeat(): void;
}
/** The werift internals printed at a stall (werift 0.24.x). */
interface WeriftChannelInternals {
  bufferedAmount: number;
  readyState: string;
  isCreatedByRemote: boolean;
  sctp?: {
    dataChannelQueue?: unknown[];
    sctp?: Record<string, unknown> & { outboundQueue?: unknown[]; sentQueue?: unknown[] };
  };
}

const channels: Array<{ channel: ChannelInternals; name: string }> = [];
let longestDrainWaitMs = 0;
const proto = FramedChannel.prototype as unknown as ChannelInternals;
const { startHeartbeat, waitForDrain } = proto;
proto.startHeartbeat = function (this: ChannelInternals) {
  const dc = this.port.dc;
  const name = dc ? (dc.isCreatedByRemote ? "frontend" : "server") : "server (browser peer)";
  channels.push({ channel: this, name });
  if (process.env.TRACE === "1") {
    traceSctp(name, dc?.sctp?.sctp);
    traceConnection(name, (this.port as { pc?: unknown }).pc);
  }
  startHeartbeat.call(this);
};
proto.waitForDrain = function (this: ChannelInternals) {
  const started = performance.now();
  const done = () => (longestDrainWaitMs = Math.max(longestDrainWaitMs, performance.now() - started));
  const wait = waitForDrain.call(this);
  wait.then(done, done);
  return wait;
};

function weriftState(channel: ChannelInternals): string {
  const dc = channel.port.dc;
  const out: Record<string, unknown> = {
    state: channel.state,
    outbox: channel.outbox.length,
    drainWaiting: channel.drainWaiter !== null,
    silentMs: Math.round(channel.now() - channel.lastInbound),
    portBuffered: channel.port.bufferedAmount,
  };
  if (dc) {
    const s = dc.sctp?.sctp;
    Object.assign(out, {
      dcBuffered: dc.bufferedAmount,
      dcState: dc.readyState,
      dcQueue: dc.sctp?.dataChannelQueue?.length,
      outboundQueue: s?.outboundQueue?.length,
      sentQueue: s?.sentQueue?.length,
      flightSize: s?.flightSize,
      cwnd: s?.cwnd,
      peerRwnd: s?.peerRwnd,
      rto: s?.rto,
      t3: s?.timer3Handle !== undefined,
      association: s?.associationState,
    });
  }
  return JSON.stringify(out);
}

function reportStall(label: string, ended: typeof channels): void {
  for (const { channel, name } of ended) console.log(`    ${name}: ${weriftState(channel)}`);
  if (process.env.TRACE !== "1") return;
  const file = join(tmpdir(), `load-echo-${process.pid}-${label.replace(/\W+/g, "-")}.txt`);
  writeFileSync(file, recentSctpEvents(30_000));
  console.log(`    SCTP events of the last 30 s: ${file}`);
}

// ---- load ----

const burners: ChildProcess[] = [];
function startBurners(): void {
  for (let i = 0; i < burnerCount; i++) {
    burners.push(spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }));
  }
}
function stopBurners(): void {
  for (const burner of burners.splice(0)) burner.kill("SIGKILL");
}
process.on("SIGINT", () => {
  stopBurners();
  process.exit(130);
});

// ---- one run ----

interface Frontend {
  echoes(): Promise<number>;
  ending(): string;
  close(): Promise<void>;
}

async function run(label: string, open: (url: string) => Promise<Frontend>): Promise<boolean> {
  channels.length = 0;
  longestDrainWaitMs = 0;
  clearSctpEvents();
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  const echo = echoApp();
  let serverEnd = "open";
  const server = await serve(echo.app, {
    connection: () => new WebRTCConnection({ backend: "werift" }),
    onSession: (session) => void session.closed.then((info) => (serverEnd = `closed: ${info.reason}`)),
  });
  let started = performance.now();
  let frontend: Frontend | undefined;
  const silences: Record<string, number> = {};
  const probe = setInterval(() => {
    for (const { channel, name } of channels) {
      if (channel.state !== "closed") silences[name] = Math.max(silences[name] ?? 0, Math.round(channel.now() - channel.lastInbound));
    }
  }, 100);
  try {
    frontend = await open(server.url);
    started = performance.now();
    const entry = echo.sessions.at(-1)!;
    let echoes = 0;
    let lastProgress = performance.now();
    while (performance.now() - started < TIMEOUT_MS) {
      const now = await frontend.echoes();
      if (now >= COUNT) {
        echoes = now;
        break;
      }
      if (now !== echoes) lastProgress = performance.now();
      echoes = now;
      if (entry.session.status === "closed" && performance.now() - lastProgress > GIVE_UP_AFTER_CLOSE_MS) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const ok = echoes >= COUNT;
    const received = entry.received.filter((value) => typeof value === "number").length;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `${label}: ${ok ? "ok" : "STALL"} in ${seconds} s; echoes ${echoes}/${COUNT}, server received ${received}/${COUNT}; ` +
        `server session ${serverEnd}; frontend ${frontend.ending()}; longest drain wait ${Math.round(longestDrainWaitMs)} ms; ` +
        `longest silence ${JSON.stringify(silences)} ms; longest event-loop delay ${Math.round(lag.max / 1e6)} ms; load ${loadAverage()}`,
    );
    if (!ok) reportStall(label, channels);
    return ok;
  } catch (error) {
    console.log(`${label}: ERROR ${(error as Error).message}; server session ${serverEnd}; load ${loadAverage()}`);
    reportStall(label, channels);
    return false;
  } finally {
    lag.disable();
    clearInterval(probe);
    await frontend?.close().catch(() => {});
    await server.close();
  }
}

async function nodeFrontend(url: string): Promise<Frontend> {
  const frontend = await connectFrontend(url, { webrtc: { backend: "werift" } });
  let ending = "open";
  void frontend.closed.then((info) => (ending = `closed: ${info.reason}`));
  const input = frontend.observable<number>("input");
  for (const size of WARM_UP_SIZES) {
    const echoed = nextValue(frontend.observable("output"), TIMEOUT_MS, `the echo of ${size} bytes`);
    await input.set(patternBytes(size) as never);
    await Promise.race([echoed, frontend.closed.then((info) => Promise.reject(new Error(`closed during the echo of ${size} bytes: ${info.reason}`)))]);
  }
  const echoed: number[] = [];
  frontend.observable<number>("output").on((value) => echoed.push(value));
  for (let i = 0; i < COUNT; i++) void input.set(i).catch(() => {});
  return { echoes: async () => echoed.length, ending: () => ending, close: () => frontend.close() };
}

function pageFrontend(browser: SuiteBrowser): (url: string) => Promise<Frontend> {
  return async (url) => {
    const page = await openSuitePage(browser, url);
    for (const size of WARM_UP_SIZES) await pageEcho(page, size);
    await page.evaluate((count: number) => {
      const w = window as any;
      w.echoes = 0;
      w.ending = "open";
      w.Bonito.on_status_change((status: string, reason?: string) => {
        if (status === "closed") w.ending = `closed: ${reason ?? ""}`;
      });
      w.Bonito.observable("output").on(() => w.echoes++);
      for (let i = 0; i < count; i++) w.Bonito.observable("input").set(i);
    }, COUNT);
    let ending = "open";
    return {
      echoes: async () => {
        const [echoes, end] = await page.evaluate(() => [(window as any).echoes as number, (window as any).ending as string] as const, undefined);
        ending = end;
        return echoes;
      },
      ending: () => ending,
      close: () => page.close(),
    };
  };
}

function loadAverage(): string {
  return loadavg()[0]!.toFixed(1);
}

startBurners();
let failures = 0;
try {
  for (const kind of frontends) {
    let stalls = 0;
    const browser = kind === "chromium" ? await chromiumSuiteBrowser() : null;
    try {
      for (let i = 0; i < runs; i++) {
        const ok = await run(`${kind} run ${i}`, browser ? pageFrontend(browser) : nodeFrontend);
        if (!ok) stalls++;
      }
    } finally {
      await browser?.close();
    }
    failures += stalls;
    console.log(`${kind} frontend, werift server, ${burnerCount} busy loops: ${runs} runs, ${stalls} stalled`);
  }
} finally {
  stopBurners();
}
process.exitCode = failures > 0 ? 1 : 0;
