/**
 * The frontend side of `npm run bench:networks`: connects to the session at argv[2]
 * `--count=N` times in a row (a fresh Node frontend each time, in this one process, so that
 * only the first pays for loading werift), each time measuring the `connectFrontend` call to
 * the connection being open, then one round trip; prints `SAMPLE <ms> <transport>` per connect.
 */
import { connectFrontend } from "../../src/frontend/node/index.js";
import { backendFromArgv } from "../../test/helpers/backends.js";
import { nextValue } from "../../test/helpers/payload.js";

const count = Number(process.argv.find((arg) => arg.startsWith("--count="))?.split("=")[1] ?? 5);
const quiet = { warn() {}, error() {} };
for (let i = 0; i < count; i++) {
  const started = performance.now();
  const frontend = await connectFrontend(process.argv[2]!, { webrtc: { backend: backendFromArgv() }, logger: quiet, timeoutMs: 60_000 });
  const ms = performance.now() - started;
  const echoed = nextValue(frontend.observable("output"), 20_000);
  await frontend.observable("input").set(i);
  await echoed;
  console.log(`SAMPLE ${ms.toFixed(1)} ${frontend.transport}`);
  await frontend.close();
}
