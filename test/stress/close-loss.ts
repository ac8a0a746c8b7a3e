/**
 * Stress: runs the close-delivery scenarios many times per backend pair and counts runs that
 * lost a message (see test/helpers/close-scenarios.ts). `npm run stress:close`, or
 *
 *   node dist/test/stress/close-loss.js [iterations=50] [pairs=werift,node-datachannel]
 *
 * A pair is a backend (both sides) or `server/frontend`, e.g. `werift/node-datachannel`.
 * Prints one line per pair and direction; exits 1 if any run lost a message or failed.
 */
import { checkBackendName, type BackendName } from "../../src/webrtc/backends/index.js";
import { frontendSendsAndCloses, lossIn, serverSendsAndCloses, type CloseOutcome } from "../helpers/close-scenarios.js";

const SCENARIOS: Array<[string, (server: BackendName, frontend: BackendName) => Promise<CloseOutcome>]> = [
  ["server sends and closes", serverSendsAndCloses],
  ["frontend sends and closes", frontendSendsAndCloses],
];

const iterations = Number(process.argv[2] ?? 50);
const pairs = (process.argv[3] ?? "werift,node-datachannel").split(",").map((spec) => {
  const [server, frontend = server] = spec.split("/");
  return [checkBackendName(server), checkBackendName(frontend)] as const;
});

let failures = 0;
for (const [serverBackend, frontendBackend] of pairs) {
  for (const [direction, run] of SCENARIOS) {
    let lossy = 0;
    let errors = 0;
    const started = performance.now();
    for (let i = 0; i < iterations; i++) {
      try {
        const loss = lossIn(await run(serverBackend, frontendBackend));
        if (loss) {
          lossy++;
          console.log(`  run ${i}: ${loss}`);
        }
      } catch (error) {
        errors++;
        console.log(`  run ${i}: ${(error as Error).message}`);
      }
    }
    failures += lossy + errors;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`${serverBackend} server, ${frontendBackend} frontend, ${direction}: ${iterations} runs, ${lossy} lost a message, ${errors} failed (${seconds} s)`);
  }
}
process.exitCode = failures > 0 ? 1 : 0;
