/**
 * The hostile suite: a server in a process of its own (test/fixtures/hostile-server.ts), a
 * canary frontend in another (test/fixtures/canary.ts) doing round trips all along, and every
 * attack of `attacks.ts` thrown at the server from this process. After each attack it checks
 * that the server process is alive and the canary kept its sessions and lost no round trip,
 * and records the server's peak resident memory during the attack. At the end it compares the
 * server's memory and open files with where they started. Used by the fuzz test (scale 1) and
 * by `npm run attack` (larger scales).
 */
import { readFileSync } from "node:fs";
import { spawnFixture, type Child } from "./process.js";
import { attacks, runAttack, unfinishedFlood, withPendingRoom, type AttackResult, type SuiteLimits, type Targets } from "./attacks.js";
import { prng } from "./hostile-inputs.js";

/** How the server under attack is configured (hostile-server.ts's argument). */
export interface ServerConfig {
  maxFrameSize: number;
  limits: { maxInboundBytes: number; [name: string]: number };
  connectTimeoutMs: number;
}

const MiB = 1024 * 1024;

/**
 * The fuzz test's server: frames of at most 4 MiB and 100,000 values, so that bombs and
 * oversized frames cost the suite little time (each is refused at the limit, whatever the
 * limit), and a short connect
 * timeout, so that the sessions the flood leaves pending end before memory is measured.
 */
export const FUZZ_SERVER: ServerConfig = {
  maxFrameSize: 4 * MiB,
  limits: { maxInboundBytes: 16 * MiB, maxFrameObjects: 100_000 },
  connectTimeoutMs: 5000,
};

/** `npm run attack`'s server: the defaults an internet-facing server runs with (the connect timeout excepted, as above). */
export const DEFAULT_SERVER: ServerConfig = { maxFrameSize: 256 * MiB, limits: { maxInboundBytes: 512 * MiB }, connectTimeoutMs: 5000 };

export interface SuiteOptions {
  /** Multiplies every attack's tries (1: the fuzz test, more than 10,000 tries in all). */
  scale: number;
  seed: number;
  server: ServerConfig;
  /** Called after each attack with its row. */
  onRow?: (row: SuiteRow) => void;
  /** Runs only the attacks whose name matches. */
  only?: RegExp;
}

/** One attack's outcome, as the report table shows it. */
export interface SuiteRow extends AttackResult {
  serverAlive: boolean;
  canaryOk: boolean;
  /** Highest resident memory of the server process sampled during the attack. */
  peakRss: number;
  /** The longest the server's event loop was blocked during the attack, and its longest garbage-collection pause. */
  maxLoopDelayMs: number;
  maxGcPauseMs: number;
  /** How long the attack took. */
  seconds: number;
  /** The canary's slowest round trip, and its 99th percentile, during the attack (over all its sessions). */
  canaryMaxRttMs: number;
  canaryP99RttMs: number;
}

/** What the server process reports about itself (after a full garbage collection). */
export interface ServerStats {
  sessions: number;
  rss: number;
  peakRss: number;
  fds: number;
  heapUsed: number;
  heapTotal: number;
  arrayBuffers: number;
  /** The longest the server's event loop was blocked since the previous stats. */
  maxLoopDelayMs: number;
  /** The longest garbage-collection pause since the previous stats. */
  maxGcPauseMs: number;
  errorsLogged: number;
}

/** The canary's view of one of its sessions. */
export interface CanaryLane {
  roundTrips: number;
  maxRttMs: number;
  p99RttMs: number;
  open: boolean;
  closeReason?: string;
  lost: number;
}

export interface SuiteResult {
  rows: SuiteRow[];
  /** Server stats once warmed up, before the attacks. */
  start: ServerStats;
  /** Server stats after the attacks, once the sessions they created have ended. */
  end: ServerStats;
  /** The canary's final report, per session. */
  canary: Record<string, CanaryLane>;
  /** The canary during the attacks: its round trips, the worst of them and the worst p99 of any attack. */
  canaryUnderAttack: Record<string, CanaryLane>;
}

/** The canary's sessions: one per kind of connection the server offers. */
const CANARY_SESSIONS = 3;

function residentBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return Number(match?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

async function serverStats(server: Child): Promise<ServerStats> {
  const reply = server.waitFor(/^STATS (.*)$/, 30_000);
  server.send("stats");
  return JSON.parse((await reply)[1]!) as ServerStats;
}

async function canaryReport(canary: Child): Promise<Record<string, CanaryLane>> {
  const reply = canary.waitFor(/^REPORT (.*)$/, 30_000);
  canary.send("report");
  return JSON.parse((await reply)[1]!) as Record<string, CanaryLane>;
}

function alive(child: Child): boolean {
  return child.process.exitCode === null && child.process.signalCode === null;
}

/** Waits (polling the server's own count) until only the canary's sessions are left. */
async function drained(server: Child, timeoutMs: number): Promise<ServerStats> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = await serverStats(server);
    if (stats.sessions <= CANARY_SESSIONS || Date.now() > deadline) return stats;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * The server's stats once the attack's sessions have ended and its memory has had time to
 * come back (V8 gives unused heap back to the system after a few idle seconds): polls until
 * resident memory is within 20 % of `start`, or `timeoutMs` has passed.
 */
async function settled(server: Child, start: ServerStats, timeoutMs: number): Promise<ServerStats> {
  const deadline = Date.now() + timeoutMs;
  let stats = await drained(server, 60_000);
  while (stats.rss > start.rss * 1.2 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    stats = await serverStats(server);
  }
  return stats;
}

/** Runs the whole suite; the processes are stopped whatever happens. */
export async function runHostileSuite(options: SuiteOptions): Promise<SuiteResult> {
  const server = spawnFixture("hostile-server", [JSON.stringify(options.server)]);
  let canary: Child | undefined;
  try {
    const targets = JSON.parse((await server.waitFor(/^READY (.*)$/, 30_000))[1]!) as Targets;
    canary = spawnFixture("canary", [JSON.stringify(targets)]);
    await canary.waitFor(/^READY$/, 60_000);
    const limits: SuiteLimits = { maxFrameSize: options.server.maxFrameSize, maxInboundBytes: options.server.limits.maxInboundBytes };
    const random = prng(options.seed);
    const rows: SuiteRow[] = [];
    let canaryUnderAttack: Record<string, CanaryLane> = {};
    let start: ServerStats | undefined;

    await withPendingRoom(targets.rtc, async (room) => {
      const all = attacks(targets, limits, room).filter((attack) => !options.only || options.only.test(attack.name));
      // The memory baseline is taken after one whole round of the attack (at most the fuzz
      // test's size): what a first round leaves behind and a second does not add to (compiled
      // code, the heap's and the allocator's grown pools, measured at +20 % of RSS with a flat
      // JS heap) is not a leak; what grows with every round is.
      const warmUpScale = Math.min(1, options.scale);
      for (const attack of all) await runAttack(attack, Math.ceil(attack.tries * warmUpScale), random);
      await unfinishedFlood(targets.ws, 10, Math.min(options.server.maxFrameSize - 1, Math.ceil(limits.maxInboundBytes / 6)));
      start = await drained(server, 60_000);
      await serverStats(server);
      await canaryReport(canary!);

      const record = async (name: string, run: () => Promise<AttackResult>) => {
        const began = performance.now();
        let peakRss = residentBytes(server.process.pid!);
        const sampler = setInterval(() => (peakRss = Math.max(peakRss, residentBytes(server.process.pid!))), 50);
        let result: AttackResult;
        try {
          result = await run();
        } finally {
          clearInterval(sampler);
        }
        const serverAlive = alive(server);
        const { maxLoopDelayMs, maxGcPauseMs } = serverAlive ? await serverStats(server) : { maxLoopDelayMs: Infinity, maxGcPauseMs: Infinity };
        const report = serverAlive && alive(canary!) ? await canaryReport(canary!) : {};
        for (const [lane, interval] of Object.entries(report)) {
          const so = canaryUnderAttack[lane];
          canaryUnderAttack[lane] = so
            ? { ...interval, roundTrips: so.roundTrips + interval.roundTrips, maxRttMs: Math.max(so.maxRttMs, interval.maxRttMs), p99RttMs: Math.max(so.p99RttMs, interval.p99RttMs) }
            : interval;
        }
        const lanes = Object.values(report);
        const canaryOk = lanes.length === CANARY_SESSIONS && lanes.every((lane) => lane.open && lane.lost === 0);
        const row: SuiteRow = { ...result, attack: name, serverAlive, canaryOk, peakRss, maxLoopDelayMs, maxGcPauseMs, seconds: (performance.now() - began) / 1000, canaryMaxRttMs: Math.max(0, ...lanes.map((l) => l.maxRttMs)), canaryP99RttMs: Math.max(0, ...lanes.map((l) => l.p99RttMs)) };
        rows.push(row);
        options.onRow?.(row);
        if (!serverAlive) throw new Error(`the server died during "${name}"`);
      };

      for (const attack of all) {
        await record(attack.name, () => runAttack(attack, Math.ceil(attack.tries * options.scale), random));
      }
      // Unfinished messages from many sessions at once, past maxInboundBytes: the largest are closed.
      const waves = Math.ceil(2 * options.scale);
      const perSocket = Math.min(options.server.maxFrameSize - 1, Math.ceil(limits.maxInboundBytes / 6));
      if (!options.only || options.only.test("ws: unfinished messages past maxInboundBytes")) await record("ws: unfinished messages past maxInboundBytes", async () => {
        const result: AttackResult = { attack: "", refuses: true, tries: 0, refused: 0, accepted: 0, failures: [] };
        for (let wave = 0; wave < waves; wave++) {
          const refused = await unfinishedFlood(targets.ws, 10, perSocket);
          result.tries += 10;
          result.refused += refused;
          result.accepted += 10 - refused;
        }
        return result;
      });
    });

    const end = await settled(server, start!, 30_000);
    const finalReply = canary.waitFor(/^FINAL (.*)$/, 60_000);
    canary.send("stop");
    const finalReport = JSON.parse((await finalReply)[1]!) as Record<string, CanaryLane>;
    return { rows, start: start!, end, canary: finalReport, canaryUnderAttack };
  } finally {
    await canary?.stop();
    await server.stop();
  }
}

/** The report table: attack, tries, refused, server alive, canary OK, peak RSS. */
export function formatTable(rows: readonly SuiteRow[]): string {
  const header = ["attack", "tries", "refused", "accepted", "failed", "server alive", "canary OK", "peak RSS", "server stall (GC)", "canary RTT p99 / max", "time"];
  const body = rows.map((row) => [
    row.attack,
    String(row.tries),
    String(row.refused),
    String(row.accepted),
    String(row.failures.length),
    row.serverAlive ? "yes" : "NO",
    row.canaryOk ? "yes" : "NO",
    `${(row.peakRss / MiB).toFixed(0)} MiB`,
    `${row.maxLoopDelayMs.toFixed(0)} ms (${row.maxGcPauseMs.toFixed(0)} ms)`,
    `${row.canaryP99RttMs.toFixed(0)} / ${row.canaryMaxRttMs.toFixed(0)} ms`,
    `${row.seconds.toFixed(1)} s`,
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(" | ")} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`, ...body.map(line)].join("\n");
}
