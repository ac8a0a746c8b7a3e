/**
 * `node dist/bench/rtt-one-process.js [count]`: 64-byte round trips with both peers in
 * this one process (one thread, so no scheduling between processes), alternating a bare
 * werift ping-pong and the whole stack (served session ↔ `connectFrontend`, an observable
 * echoed back) three times each. What remains between the two is our own work per round
 * trip; run with `node --cpu-prof` to see where it goes (`dist/bench/profile.js`).
 */
import { serve, type Session } from "../src/index.js";
import { WebRTCConnection } from "../src/webrtc/index.js";
import { connectFrontend } from "../src/frontend/node/index.js";
import { connectBackendPairAlone } from "../test/helpers/backend-pair.js";
import { patternBytes } from "../test/helpers/payload.js";
import { percentile } from "./lib/stats.js";

const COUNT = Number(process.argv[2] ?? 2000);
const WARMUP = 100;
const PAYLOAD = patternBytes(64);

/** p50 of `COUNT` sequential round trips: `send` starts one, `onReply` learns that it came back. */
async function measure(send: () => void, onReply: (resolve: () => void) => void): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + COUNT; i++) {
    const back = new Promise<void>((resolve) => onReply(resolve));
    const started = performance.now();
    send();
    await back;
    if (i >= WARMUP) samples.push(performance.now() - started);
  }
  return percentile(samples, 50);
}

async function bareRound(): Promise<number> {
  const cleanups: Array<() => unknown> = [];
  try {
    const pair = await connectBackendPairAlone({ after: (fn) => cleanups.push(fn) }, "werift", "werift");
    const a = pair.offerer.dc as unknown as { send(b: Buffer): void; on(e: "message", f: () => void): void };
    const b = pair.answerer.dc as unknown as { send(b: Buffer): void; on(e: "message", f: (e: { data: Buffer }) => void): void };
    let reply: (() => void) | null = null;
    b.on("message", (event) => b.send(event.data));
    a.on("message", () => reply?.());
    return await measure(() => a.send(Buffer.from(PAYLOAD)), (resolve) => (reply = resolve));
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

async function stackRound(): Promise<number> {
  let ready!: (session: Session) => void;
  const sessionReady = new Promise<Session>((resolve) => (ready = resolve));
  const server = await serve(
    (session) => {
      session.observable<Uint8Array | null>(null, "ping");
      session.observable<Uint8Array | null>(null, "pong");
      return "<p>rtt</p>";
    },
    {
      connection: () => new WebRTCConnection(),
      onSession: (session) => {
        const off = session.onReady(() => {
          off();
          ready(session);
        });
      },
    },
  );
  const frontend = await connectFrontend(server.url);
  try {
    const session = await sessionReady;
    frontend.observable("ping").on((value) => frontend.observable("pong").set(value));
    const ping = session.observable<Uint8Array | null>(null, "ping");
    let reply: (() => void) | null = null;
    session.observable<Uint8Array | null>(null, "pong").on(() => reply?.());
    return await measure(() => void ping.set(PAYLOAD), (resolve) => (reply = resolve));
  } finally {
    await frontend.close();
    await server.close();
  }
}

const bare: number[] = [];
const ours: number[] = [];
for (let round = 0; round < 3; round++) {
  bare.push(await bareRound());
  ours.push(await stackRound());
}
const fmt = (values: number[]) => values.map((v) => v.toFixed(3)).join(", ");
console.log(`rtt-p50 one process, ${COUNT} round trips per measurement`);
console.log(`  bare werift:      ${fmt(bare)} ms`);
console.log(`  WebRTCConnection: ${fmt(ours)} ms`);
console.log(`  ratio of medians: ${(percentile(ours, 50) / percentile(bare, 50)).toFixed(2)}`);
