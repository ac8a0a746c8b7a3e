/**
 * `npm run attack`: the hostile suite of test/hostile-fuzz.test.ts with larger counts, against
 * a server with the default limits, printing one row per attack. Not part of `npm test`.
 *
 *   npm run attack                       # scale 10 (about 100,000 hostile inputs), default limits
 *   npm run attack -- --scale=2 --seed=7
 *   npm run attack -- --fuzz-limits      # the fuzz test's smaller limits (8 MiB frames)
 *   npm run attack -- --only=signaling   # the attacks whose name matches
 *
 * Exits with 1 if any try went unanswered, the server died, the canary lost its session or a
 * round trip, or the server's memory or open files did not come back.
 */
import { DEFAULT_SERVER, FUZZ_SERVER, formatTable, runHostileSuite } from "./helpers/hostile-suite.js";

const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, "").split("=");
    return [key!, value ?? "true"] as const;
  }),
);
const scale = Number(args.get("scale") ?? 10);
const seed = Number(args.get("seed") ?? Date.now() % 1_000_000);
const server = args.has("fuzz-limits") ? FUZZ_SERVER : DEFAULT_SERVER;
const MiB = 1024 * 1024;

console.log(`hostile suite: scale ${scale}, seed ${seed}, maxFrameSize ${server.maxFrameSize / MiB} MiB, maxInboundBytes ${server.limits.maxInboundBytes / MiB} MiB`);
const started = performance.now();
const only = args.has("only") ? new RegExp(args.get("only")!) : undefined;
const result = await runHostileSuite({
  scale,
  seed,
  server,
  only,
  onRow: (row) => console.log(`  ${row.attack}: ${row.tries} tries, ${row.refused} refused, ${row.failures.length} failed`),
});
console.log();
console.log(formatTable(result.rows));
console.log();
const tries = result.rows.reduce((sum, row) => sum + row.tries, 0);
console.log(`${tries} hostile inputs in ${((performance.now() - started) / 1000).toFixed(0)} s`);
console.log(`server RSS ${(result.start.rss / MiB).toFixed(1)} MiB before, ${(result.end.rss / MiB).toFixed(1)} MiB after; peak ${(result.end.peakRss / MiB).toFixed(0)} MiB`);
console.log(`server open files ${result.start.fds} before, ${result.end.fds} after`);
console.log(`server heap ${(result.start.heapUsed / MiB).toFixed(1)} MiB used of ${(result.start.heapTotal / MiB).toFixed(1)} before, ${(result.end.heapUsed / MiB).toFixed(1)} of ${(result.end.heapTotal / MiB).toFixed(1)} after; array buffers ${(result.start.arrayBuffers / MiB).toFixed(1)} → ${(result.end.arrayBuffers / MiB).toFixed(1)} MiB`);
for (const [name, lane] of Object.entries(result.canaryUnderAttack)) {
  console.log(`canary ${name}: ${lane.roundTrips} round trips under attack, p99 ${lane.p99RttMs.toFixed(1)} ms, worst ${lane.maxRttMs.toFixed(1)} ms`);
}
const failures = result.rows.flatMap((row) => row.failures.slice(0, args.has("verbose") ? Infinity : 5).map((failure) => `${row.attack}: ${failure}`));
for (const failure of failures) console.log(`FAILED ${failure}`);
const canaryOk = Object.values(result.canary).every((lane) => lane.open && lane.lost === 0);
const ok =
  failures.length === 0 &&
  result.rows.every((row) => row.serverAlive && row.canaryOk) &&
  canaryOk &&
  result.end.rss <= result.start.rss * 1.2 &&
  result.end.fds <= result.start.fds;
console.log(ok ? "PASS" : "FAIL");
process.exitCode = ok ? 0 : 1;
