/**
 * The Node WebRTC backends the integration suites run against, so each suite is written
 * once and parameterized. node-datachannel is an optional dependency: outside CI, when it does
 * not load here, its suites are skipped with the reason; under CI=true that is an error. `TEST_BACKENDS=werift`
 * (comma-separated) restricts a run to some backends.
 */
import { BACKEND_NAMES, checkBackendName, loadBackend, type BackendName } from "../../src/webrtc/backends/index.js";

/** One backend to run a suite against; `skip` is set (with the reason) when it cannot run here. */
export interface BackendCase {
  backend: BackendName;
  skip: string | false;
}

/** The backends selected by TEST_BACKENDS (default: all), in BACKEND_NAMES order. */
export function selectedBackends(): BackendName[] {
  const wanted = process.env.TEST_BACKENDS;
  if (!wanted) return [...BACKEND_NAMES];
  const names = wanted.split(",").map((name) => checkBackendName(name.trim()));
  return BACKEND_NAMES.filter((name) => names.includes(name));
}

/** Each selected backend, with why it is skipped if it does not load in this install. */
export async function backendCases(): Promise<BackendCase[]> {
  return Promise.all(
    selectedBackends().map(async (backend) => {
      try {
        await loadBackend(backend);
        return { backend, skip: false as const };
      } catch (error) {
        // In CI the optional dependency is installed by `npm ci`: a backend that does not
        // load there is a failure to report, never a suite to skip.
        if (process.env.CI) throw new Error(`backend ${backend} does not load: ${(error as Error).message}`);
        return { backend, skip: (error as Error).message };
      }
    }),
  );
}

/** The backend a fixture process was asked for: `--backend=<name>` in argv, else werift. */
export function backendFromArgv(argv: readonly string[] = process.argv): BackendName {
  const flag = argv.find((arg) => arg.startsWith("--backend="));
  return checkBackendName(flag ? flag.slice("--backend=".length) : "werift");
}

/** The argv flag that passes `backend` to a fixture. */
export function backendArg(backend: BackendName): string {
  return `--backend=${backend}`;
}
