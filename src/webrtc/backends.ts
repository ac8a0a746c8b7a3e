/**
 * The Node WebRTC stacks behind the shared negotiation and framing code, picked by name.
 * werift is a regular dependency and always loaded. node-datachannel is optional and
 * native: it is imported dynamically on first request, so werift users never load it,
 * and that makes getting a backend asynchronous (`loadBackend`).
 */
import type { ChannelPort } from "../transport/port.js";
import { weriftBackend } from "./werift-backend.js";
import type { DataChannelLike, PeerConnectionLike } from "./negotiation.js";
import type { IceServer } from "./options.js";

/** The Node WebRTC stacks we support. */
export type BackendName = "werift" | "node-datachannel";

/** Every backend name, in order of preference (the first is the default). */
export const BACKEND_NAMES: readonly BackendName[] = ["werift", "node-datachannel"];

/** The default stack: pure JavaScript, always installed. */
export const DEFAULT_BACKEND: BackendName = "werift";

/** A WebRTC stack behind the shared negotiation and framing code. */
export interface WebRTCBackend {
  readonly name: BackendName;
  /** A peer connection configured for our one data channel (no STUN unless given, loopback reachable). */
  createPeerConnection(iceServers: IceServer[]): PeerConnectionLike;
  /** The open data channel as the port a FramedChannel drives; closing the port closes `pc` too. */
  wrapChannel(channel: DataChannelLike, pc: PeerConnectionLike): ChannelPort;
  /** Release what `createPeerConnection` made when negotiation failed. */
  closePeerConnection(pc: PeerConnectionLike): void;
}

const loaders: Record<BackendName, () => Promise<WebRTCBackend>> = {
  werift: async () => weriftBackend,
  "node-datachannel": async () => (await import("./ndc-backend.js")).loadNdcBackend(),
};

/** One load per stack and process; a failed load is retried on the next request. */
const loading = new Map<BackendName, Promise<WebRTCBackend>>();
/** Backends whose load has finished, for `resolveBackend`. */
const ready = new Map<BackendName, WebRTCBackend>([["werift", weriftBackend]]);

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
    backend.then(
      (loaded) => ready.set(known, loaded),
      () => loading.delete(known),
    );
  }
  return backend;
}

/**
 * The backend called `name`, synchronously: werift always, node-datachannel once
 * `loadBackend("node-datachannel")` has resolved. Throws otherwise.
 */
export function resolveBackend(name: BackendName): WebRTCBackend {
  const known = checkBackendName(name);
  const backend = ready.get(known);
  if (!backend) throw new Error(`the ${known} backend is not loaded yet: await loadBackend("${known}") first`);
  return backend;
}
