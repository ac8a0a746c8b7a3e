/**
 * `npm run bench` — `node dist/bench/run.js [--quick] [--json FILE] [--only PATTERN]
 * [--variants PATTERN] [--directions PATTERN] [--backends werift,node-datachannel]
 * [--profile DIR] [--verbose]`
 *
 * Runs every scenario family for every variant (ours over WebRTC per available Node
 * backend, ours over WebSocket, bare data channels per backend, and in full runs our
 * FramedChannel alone as a diagnostic), prints tables of ours ÷ baseline ratios measured
 * in this run, and writes the measurements and rows as JSON with `--json`. Nothing is asserted: this is measurement. Every measurement is
 * capped in time; every peer, server and browser is closed; the process exits by itself.
 */
import { writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { benchConfig } from "./config.js";
import { BenchBrowser, bundlePageScript } from "./lib/browser.js";
import { compareAll, formatTables, type Comparison, type Measurement, type TableGroup } from "./lib/table.js";
import { DIRECTIONS, Rig, type BenchEnv, type Pair } from "./lib/pairs.js";
import { BACKEND_NAMES, checkBackendName, loadBackend } from "../src/webrtc/backends/index.js";
import { variantLabel, type TransportSpec } from "./shared/variants.js";
import type { PairFamily, ScenarioContext, StandaloneFamily } from "./scenarios/scenario.js";
import { throughput } from "./scenarios/throughput.js";
import { rtt } from "./scenarios/rtt.js";
import { setup } from "./scenarios/setup.js";
import { memory, memoryOnPair } from "./scenarios/memory.js";
import { sessions } from "./scenarios/sessions.js";

/**
 * The order of a run. Setup first, each family with its own peers. Then the families that
 * share one pair per variant and direction (latency before bulk traffic). Then the rest
 * with fresh peers: in a full run memory gets its own pairs, so that no earlier scenario's
 * heap is counted; a quick run measures it at the end of the shared pair instead.
 */
function plan(quick: boolean): { before: StandaloneFamily[]; onPairs: PairFamily[]; after: StandaloneFamily[] } {
  return quick
    ? { before: [setup], onPairs: [rtt, throughput, memoryOnPair], after: [sessions] }
    : { before: [setup], onPairs: [rtt, throughput], after: [memory, sessions] };
}

interface Args {
  quick: boolean;
  json?: string;
  only?: RegExp;
  backends?: string[];
  profileDir?: string;
  verbose: boolean;
  /** Only variants whose label matches (e.g. `^webrtc$`), only directions that match (e.g. `node→node`). */
  variants?: RegExp;
  directions?: RegExp;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--quick") args.quick = true;
    else if (arg === "--json") args.json = value();
    else if (arg === "--only") args.only = new RegExp(value());
    else if (arg === "--backends") args.backends = value().split(",");
    else if (arg === "--profile") args.profileDir = value();
    else if (arg === "--verbose") args.verbose = true;
    else if (arg === "--variants") args.variants = new RegExp(value());
    else if (arg === "--directions") args.directions = new RegExp(value());
    else if (arg === "--help" || arg === "-h") {
      console.log("usage: node dist/bench/run.js [--quick] [--json FILE] [--only PATTERN] [--variants PATTERN] [--directions PATTERN] [--backends a,b] [--profile DIR] [--verbose]");
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  return args;
}

/** Node WebRTC backends that load here (node-datachannel is optional and native). */
async function availableBackends(wanted?: string[]): Promise<string[]> {
  const available: string[] = [];
  for (const name of wanted ?? BACKEND_NAMES) {
    try {
      await loadBackend(checkBackendName(name));
      available.push(name);
    } catch (error) {
      console.error(`bench: backend ${name} is not available (${(error as Error).message.split("\n")[0]}): skipped`);
    }
  }
  return available;
}

function variantsFor(backends: string[]): TransportSpec[] {
  const specs: TransportSpec[] = [];
  for (const backend of backends) specs.push({ kind: "webrtc", backend });
  specs.push({ kind: "websocket" });
  for (const backend of backends) specs.push({ kind: "bare", backend });
  return specs;
}

/** The diagnostic middle layer (FramedChannel without Session), measured on shared pairs only. */
function diagnosticsFor(backends: string[]): TransportSpec[] {
  return backends.map((backend) => ({ kind: "framed", backend }));
}

/** Ours against the floor and against WebSocket; another backend against werift and against its own floor. */
function comparisonsFor(backends: string[]): Comparison[] {
  const ours = variantLabel({ kind: "webrtc", backend: "werift" });
  const list: Comparison[] = [];
  if (backends.includes("werift")) list.push([ours, "bare-werift"], [ours, "websocket"]);
  for (const backend of backends.filter((b) => b !== "werift")) {
    const label = variantLabel({ kind: "webrtc", backend });
    list.push([label, ours], [label, `bare-${backend}`], [`bare-${backend}`, "bare-werift"]);
  }
  // Where the overhead sits: ours over FramedChannel alone, FramedChannel over the bare channel.
  for (const backend of backends) {
    const label = variantLabel({ kind: "webrtc", backend });
    list.push([label, `framed-${backend}`], [`framed-${backend}`, `bare-${backend}`]);
  }
  return list;
}

/** The printed tables: ours against its floor and WebSocket; the other backend; where the overhead sits. */
function tablesFor(backends: string[]): TableGroup[] {
  const ours = variantLabel({ kind: "webrtc", backend: "werift" });
  const groups: TableGroup[] = [];
  if (backends.includes("werift")) {
    groups.push({ title: "WebRTCConnection (werift) against a bare werift data channel and against WebSocketConnection", subject: ours, baselines: ["bare-werift", "websocket"] });
  }
  for (const backend of backends.filter((b) => b !== "werift")) {
    const label = variantLabel({ kind: "webrtc", backend });
    groups.push({ title: `WebRTCConnection on ${backend} against werift and against a bare ${backend} channel`, subject: label, baselines: [ours, `bare-${backend}`] });
  }
  for (const backend of backends) {
    groups.push({
      title: `Where the overhead sits (${backend}): bare channel → FramedChannel alone → whole stack`,
      subject: variantLabel({ kind: "webrtc", backend }),
      baselines: [`framed-${backend}`, `bare-${backend}`],
    });
  }
  return groups;
}

function machine(browserVersion: string | undefined, loadBefore: number[]): Record<string, unknown> {
  const version = (pkg: string) => {
    try {
      return JSON.parse(readFileSync(new URL(`../../node_modules/${pkg}/package.json`, import.meta.url), "utf8")).version as string;
    } catch {
      return "not installed";
    }
  };
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    node: process.version,
    chromium: browserVersion ?? "not launched",
    werift: version("werift"),
    "node-datachannel": version("node-datachannel"),
    ws: version("ws"),
    // Other processes compete for the same cores: the 1-minute load average before and after.
    loadavgBefore: loadBefore.map((l) => Number(l.toFixed(2))),
    loadavgAfter: loadavg().map((l) => Number(l.toFixed(2))),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const config = benchConfig(args.quick);
  const backends = await availableBackends(args.backends);
  const keep = (v: TransportSpec) => !args.variants || args.variants.test(variantLabel(v));
  const variants = variantsFor(backends).filter(keep);
  // The diagnostic layer costs a pair per direction and backend: full runs only, or when asked for by --variants.
  const diagnostics = args.quick && !args.variants ? [] : diagnosticsFor(backends).filter(keep);
  await bundlePageScript();

  let browser: Promise<BenchBrowser> | undefined;
  let browserVersion: string | undefined;
  const env: BenchEnv = {
    browser: () =>
      (browser ??= BenchBrowser.launch(args.profileDir).then((b) => {
        browserVersion = b.version;
        return b;
      })),
    agentOptions: () => ({ profileDir: args.profileDir, verbose: args.verbose }),
  };
  const measurements: Measurement[] = [];
  const started = Date.now();
  const loadBefore = loadavg();
  const context: ScenarioContext = {
    env,
    config,
    variants,
    selected: (name) => !args.only || args.only.test(name),
    record: (m) => measurements.push(m),
    log: (message) => console.error(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`),
  };
  context.log(`bench ${args.quick ? "quick" : "full"} run; variants: ${[...variants, ...diagnostics].map(variantLabel).join(", ")}`);

  const wanted = <F extends { names: readonly string[] }>(families: readonly F[]) =>
    families.filter((f) => f.names.some((n) => context.selected(n)));
  try {
    const { before, onPairs, after } = plan(args.quick);
    for (const family of wanted(before)) await family.run(context);
    const pairFamilies = wanted(onPairs);
    if (pairFamilies.length > 0) {
      const directions = DIRECTIONS.filter((d) => !args.directions || args.directions.test(d));
      for (const spec of [...variants, ...diagnostics]) {
        const variant = variantLabel(spec);
        let rig: Rig | undefined;
        for (const direction of directions) {
          const skip = (note: string) => {
            context.log(`${direction} ${variant}: ${note}`);
            for (const family of pairFamilies) family.skipped(direction, variant, context, note);
          };
          let pair: Pair;
          try {
            rig ??= await Rig.start(env, spec);
            pair = await rig.pair(direction);
          } catch (error) {
            skip(`could not connect: ${(error as Error).message.split("\n")[0]}`);
            continue;
          }
          let usable = true;
          for (const family of pairFamilies) {
            if (usable) usable = await family.onPair(pair, context);
            else family.skipped(direction, variant, context, "not run: an earlier scenario on this pair hit its cap");
          }
          if (!usable) {
            // A peer may be wedged: the next direction gets fresh processes.
            await rig.abort();
            rig = undefined;
          }
        }
        await rig?.close();
      }
    }
    for (const family of wanted(after)) await family.run(context);
  } finally {
    if (browser) await (await browser.catch(() => undefined))?.close();
  }

  const rows = compareAll(measurements, comparisonsFor(backends));
  const seconds = (Date.now() - started) / 1000;
  const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(" ");
  console.log(
    `\n${args.quick ? "Quick" : "Full"} run, ${seconds.toFixed(0)} s, ${cpus().length} cores, load average ${load(loadBefore)} → ${load(loadavg())}. ` +
      `ratio = ours ÷ baseline, both measured in this run.\n`,
  );
  console.log(formatTables(measurements, tablesFor(backends)));
  if (args.json) {
    const report = { date: new Date().toISOString(), mode: args.quick ? "quick" : "full", seconds, machine: machine(browserVersion, loadBefore), config, rows, measurements };
    await writeFile(args.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nwrote ${args.json}`);
  }
}

main().then(
  () => {
    // Everything is closed; if a library still holds a handle, do not hang on it.
    setTimeout(() => {
      console.error("bench: a handle outlived the run; exiting anyway");
      process.exit(0);
    }, 5000).unref();
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 5000).unref();
  },
);
