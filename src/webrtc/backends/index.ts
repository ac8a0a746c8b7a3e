/**
 * The Node WebRTC stacks behind the shared negotiation and framing code, picked by name.
 * Each stack is imported on first request (`loadBackend`): a process that never negotiates
 * never loads werift, and node-datachannel (optional, native) is only loaded when asked for.
 */

export { BACKEND_NAMES, DEFAULT_BACKEND, type BackendName, type WebRTCBackend } from "./backend.js";
import { BACKEND_NAMES, type BackendName, type WebRTCBackend } from "./backend.js";

const loaders: Record<BackendName, () => Promise<WebRTCBackend>> = {
  werift: async () => (await import("./werift/backend.js")).weriftBackend,
  "node-datachannel": async () => (await import("./node-datachannel/backend.js")).loadNdcBackend(),
};

/** One load per stack and process; a failed load is retried on the next request. */
const loading = new Map<BackendName, Promise<WebRTCBackend>>();

/**
 * `name` if it names a backend; otherwise throws an error that lists the available ones.
 * Synchronous, so a typo fails where the connection is configured.
 */
export function checkBackendName(name: unknown): BackendName {
  if (typeof name === "string" && (BACKEND_NAMES as readonly string[]).includes(name)) return name as BackendName;
  const available = BACKEND_NAMES.map((n) => `"${n}"`).join(", ");
  throw new Error(`unknown WebRTC backend ${JSON.stringify(name) ?? String(name)}; available: ${available}`);
}

/**
 * Loads the backend called `name` (importing its stack the first time). Rejects with an
 * error that says how to fix it when the stack is not installed or cannot load.
 */
export async function loadBackend(name: BackendName): Promise<WebRTCBackend> {
  const known = checkBackendName(name);
  let backend = loading.get(known);
  if (!backend) {
    backend = loaders[known]();
    loading.set(known, backend);
    backend.catch(() => loading.delete(known));
  }
  return backend;
}
