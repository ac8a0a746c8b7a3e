/** Picks the Node WebRTC stack by name. */
import { weriftBackend, type WebRTCBackend } from "./werift-backend.js";

export type BackendName = "werift";

/** The backend called `name`, or an error that lists the ones available. */
export function resolveBackend(name: BackendName): WebRTCBackend {
  if (name === "werift") return weriftBackend;
  throw new Error(`unknown WebRTC backend "${String(name)}"; available: "werift"`);
}
