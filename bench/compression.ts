/**
 * `node dist/bench/compression.js [repetitions]`: what compressing a large server frame in
 * slices costs and what it buys. For each size, alternating, `gzip` in one go and
 * `gzipInSlices`: the time to compress (median), and the longest the event loop was held
 * meanwhile (seen by a timer that asks to run every millisecond). The output is byte for
 * byte the same; the ratio says what slicing costs in total time, the stall what it spares
 * every other session of the server.
 */
import { gzip, gzipInSlices } from "../src/protocol/index.js";
import { median, MiB } from "./lib/stats.js";
import { markdownTable } from "./lib/table.js";

const REPETITIONS = Number(process.argv[2] ?? 5);
const SIZES_MIB = [1, 16, 64];

interface Run {
  ms: number;
  stallMs: number;
}

/** A frame that compresses about as well as typical data: runs of slowly changing bytes with noise. */
function sampleFrame(bytes: number): Uint8Array {
  const frame = new Uint8Array(bytes);
  let seed = 12345;
  for (let i = 0; i < bytes; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    frame[i] = i % 5 === 0 ? seed >>> 24 : (i >> 4) & 0xff;
  }
  return frame;
}

function tick(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `work`: how long it took, and the longest gap between 1 ms timer ticks meanwhile. */
async function measure(work: () => unknown): Promise<Run> {
  let last = performance.now();
  let stallMs = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 1);
  await tick(5);
  stallMs = 0;
  last = performance.now();
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  // One more tick after the work, to see the gap it left at its end.
  await tick(2);
  clearInterval(ticker);
  return { ms, stallMs };
}

const rows: string[][] = [];
for (const size of SIZES_MIB) {
  const frame = sampleFrame(size * MiB);
  const once: Run[] = [];
  const sliced: Run[] = [];
  for (let i = 0; i < REPETITIONS; i++) {
    once.push(await measure(() => gzip(frame)));
    sliced.push(await measure(() => gzipInSlices(frame)));
  }
  const time = (runs: Run[]) => median(runs.map((run) => run.ms));
  const worstStall = (runs: Run[]) => Math.max(...runs.map((run) => run.stallMs));
  rows.push([
    `${size} MiB`,
    `${time(once).toFixed(0)} ms`,
    `${time(sliced).toFixed(0)} ms`,
    (time(sliced) / time(once)).toFixed(2),
    `${worstStall(once).toFixed(0)} ms`,
    `${worstStall(sliced).toFixed(0)} ms`,
  ]);
}
console.log(
  markdownTable(["frame", "gzip at once", "gzip in slices", "time ratio (slices ÷ once)", "longest stall, at once", "longest stall, in slices"], rows),
);
