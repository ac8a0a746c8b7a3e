/**
 * "Accepted means delivered, on close too": one side sends updates whose sends were
 * accepted, then closes at once; the other side must have seen every one, in order, by the
 * time it learns of the close. Used by the close-delivery tests (a few runs) and by the
 * stress script `npm run stress:close` (many runs).
 */
import { serve } from "../../src/index.js";
import { WebRTCConnection, type BackendName } from "../../src/webrtc/index.js";
import { connectFrontend } from "../../src/frontend/node/index.js";
import { within } from "./payload.js";

/** Updates sent before each close. */
export const UPDATES_BEFORE_CLOSE = 50;

/** What the receiving side saw. */
export interface CloseOutcome {
  /** Values received before the close was noticed, in arrival order. */
  seen: number[];
  /** How the receiving side's session or connection ended. */
  reason: string;
}

/** The server sets an observable 50 times, waits for every set to be accepted, closes the session. */
export async function serverSendsAndCloses(serverBackend: BackendName, frontendBackend: BackendName): Promise<CloseOutcome> {
  const server = await serve(() => "", { connection: () => new WebRTCConnection({ backend: serverBackend }) });
  try {
    const frontend = await connectFrontend(server.url, { webrtc: { backend: frontendBackend } });
    const session = server.sessions.get(frontend.sessionId)!;
    const news = session.observable<number>(0, "news");
    const seen: number[] = [];
    frontend.observable<number>("news").on((value) => seen.push(value));
    const writes: Promise<void>[] = [];
    for (let i = 1; i <= UPDATES_BEFORE_CLOSE; i++) writes.push(news.set(i));
    await Promise.all(writes);
    await session.close();
    const info = await within(frontend.closed, 10_000, "the frontend sees the close");
    return { seen, reason: info.reason };
  } finally {
    await server.close();
  }
}

/** The frontend sets an observable 50 times and closes at once (its close sends what it accepted first). */
export async function frontendSendsAndCloses(serverBackend: BackendName, frontendBackend: BackendName): Promise<CloseOutcome> {
  const seen: number[] = [];
  const server = await serve(
    (session) => {
      session.observable<number>(0, "news").on((value) => seen.push(value));
      return "";
    },
    { connection: () => new WebRTCConnection({ backend: serverBackend }) },
  );
  try {
    const frontend = await connectFrontend(server.url, { webrtc: { backend: frontendBackend } });
    const session = server.sessions.get(frontend.sessionId)!;
    const news = frontend.observable<number>("news");
    for (let i = 1; i <= UPDATES_BEFORE_CLOSE; i++) void news.set(i);
    await frontend.close();
    const info = await within(session.closed, 10_000, "the server session closes");
    return { seen, reason: info.reason };
  } finally {
    await server.close();
  }
}

/** Null when `outcome` saw 1..50 in order, else what went wrong. */
export function lossIn(outcome: CloseOutcome): string | null {
  const { seen } = outcome;
  if (seen.length === UPDATES_BEFORE_CLOSE && seen.every((value, i) => value === i + 1)) return null;
  const shown = seen.length > 6 ? `${seen.slice(0, 3).join(",")},…,${seen.slice(-2).join(",")}` : seen.join(",");
  return `saw ${seen.length} of ${UPDATES_BEFORE_CLOSE} [${shown}] (closed: ${outcome.reason})`;
}
