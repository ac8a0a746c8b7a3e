/**
 * Falling back to the WebSocket when WebRTC cannot connect: the session continues, nothing
 * queued on either side is lost or repeated, and every side says which transport carries the
 * session and why. On loopback WebRTC is made impossible two ways: a relay-only policy with no
 * relay (no candidate at all, so the negotiation runs out of time), and a page without
 * RTCPeerConnection. Across two hosts with UDP blocked: two-hosts.test.ts.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { serve, type BonitoServer, type Logger, type Session } from "../src/index.js";
import { WebRTCConnection, type WebRTCBootstrap } from "../src/webrtc/index.js";
import { connectFrontend, fetchBootstrap } from "../src/frontend/node/index.js";
import { launchBrowser, type TestBrowser } from "./helpers/browser.js";
import { waitUntil } from "./helpers/payload.js";

/** Messages each side queues before the connection is up, and after. */
const QUEUED = 50;

/** A logger that keeps the warnings (the fallback's reason goes there). */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, warn: (...args: unknown[]) => warnings.push(args.map(String).join(" ")), error() {} };
}

/**
 * The app: while the frontend is still connecting it queues QUEUED scripts that each append
 * their number to `globalThis[key]` (scripts run exactly once, in order, wherever the runtime
 * is: a page, or this process for a Node frontend), and QUEUED more once the session is ready.
 * Whatever the frontend sets on `input` is recorded in arrival order.
 */
function sequenceApp(key: string) {
  const sessions: Array<{ session: Session; received: unknown[] }> = [];
  const app = (session: Session) => {
    const received: unknown[] = [];
    sessions.push({ session, received });
    session.observable<unknown>(null, "input").on((value) => received.push(value));
    const append = (n: number) => void session.evaljs(`(globalThis[${JSON.stringify(key)}] ??= []).push(${n});`).catch(() => {});
    for (let n = 0; n < QUEUED; n++) append(n);
    const stop = session.onReady(() => {
      stop();
      for (let n = QUEUED; n < 2 * QUEUED; n++) append(n);
    });
    return `<h1>sequence</h1><script type="module">
      // Sent before the connection is up: the runtime queues them.
      for (let i = 0; i < ${QUEUED}; i++) Bonito.observable("input").set(i);
    </script>`;
  };
  return { app, sessions };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("fallback to the WebSocket: a Node frontend", { timeout: 120_000 }, () => {
  const logger = recordingLogger();
  const sequence = sequenceApp("__bonitoFallbackNode");
  let server: BonitoServer;
  const timeoutMs = 1500;

  before(async () => {
    // Relay only, and no relay: no candidate pair can work, so the negotiation fails.
    server = await serve(sequence.app, {
      logger,
      connection: () => new WebRTCConnection({ iceTransportPolicy: "relay", negotiationTimeoutMs: timeoutMs }),
    });
  });
  after(async () => {
    await server?.close();
  });

  test("the session continues over the WebSocket: nothing lost or repeated, and everyone says why", async (t) => {
    const frontendLogger = recordingLogger();
    const started = performance.now();
    const frontend = await connectFrontend(server.url, { logger: frontendLogger });
    const fallbackMs = performance.now() - started;
    try {
      const { session, received } = sequence.sessions.at(-1)!;
      assert.equal(frontend.connectionType, "webrtc", "the server offered WebRTC");
      assert.equal(frontend.transport, "websocket");
      assert.equal(session.transport, "websocket");
      assert.match(frontend.runtime.stats.fallbackReason ?? "", /no data channel within 1500 ms|no local ICE candidates/);
      assert.match(frontendLogger.warnings.join("\n"), /WebRTC could not connect \(.*\); continuing over the WebSocket/);
      const connection = session.connection as WebRTCConnection;
      // How long falling back took is reported (at most the negotiation timeout: with no
      // candidate at all, ICE gives up sooner).
      assert.equal(typeof connection.fallback!.afterMs, "number");
      assert.match(logger.warnings.join("\n"), new RegExp(`session ${session.id}: WebRTC could not connect \\(.*(no data channel|no local ICE candidates).*\\); continuing over the WebSocket`));

      // Server → frontend: queued while connecting, then sent once ready; each once, in order.
      const seen = () => ((globalThis as Record<string, unknown>).__bonitoFallbackNode as number[] | undefined) ?? [];
      await waitUntil(() => seen().length >= 2 * QUEUED, 10_000, "every script arrives");
      assert.deepEqual(seen(), range(2 * QUEUED));
      // Frontend → server, over the fallback.
      for (let i = 0; i < QUEUED; i++) void frontend.observable("input").set(i);
      await waitUntil(() => received.length >= QUEUED, 10_000, "every input arrives");
      assert.deepEqual(received, range(QUEUED));
      t.diagnostic(`connectFrontend took ${fallbackMs.toFixed(0)} ms with a ${timeoutMs} ms time to fall back (server: ${connection.fallback!.afterMs} ms)`);
      // Closing the frontend ends the session, with the WebSocket's reason.
      await frontend.close();
      assert.match((await session.closed).reason, /the frontend closed the connection/);
    } finally {
      await frontend.close();
    }
  });
});

describe("fallback to the WebSocket: turned off", { timeout: 60_000 }, () => {
  test("with fallback: false, WebRTC failing fails the session as before", async () => {
    const server = await serve(sequenceApp("__bonitoNoFallback").app, {
      logger: recordingLogger(),
      connection: () => new WebRTCConnection({ iceTransportPolicy: "relay", negotiationTimeoutMs: 1000, fallback: false }),
    });
    try {
      const bootstrap = await fetchBootstrap(server.url);
      assert.equal((bootstrap.connection as WebRTCBootstrap).fallback, undefined, "no fallback is offered");
      await assert.rejects(connectFrontend(server.url), { name: "NegotiationError" });
    } finally {
      await server.close();
    }
  });
});

describe("fallback to the WebSocket: pages", { timeout: 120_000 }, () => {
  const logger = recordingLogger();
  const sequence = sequenceApp("__bonitoFallbackPage");
  let server: BonitoServer;
  let browser: TestBrowser;

  before(async () => {
    server = await serve(sequence.app, { logger, connection: () => new WebRTCConnection() });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test("a page without RTCPeerConnection falls back at once; nothing lost or repeated", async () => {
    const page = await browser.newPage();
    try {
      await page.addInitScript(() => delete (window as { RTCPeerConnection?: unknown }).RTCPeerConnection);
      await page.goto(server.url);
      await page.waitForFunction(() => ((window as any).__bonitoFallbackPage?.length ?? 0) >= 100);
      assert.deepEqual(await page.evaluate(() => (window as any).__bonitoFallbackPage), range(2 * QUEUED));
      const { session, received } = sequence.sessions.at(-1)!;
      assert.deepEqual(received, range(QUEUED), "what the page queued before the connection arrived once each, in order");
      assert.equal(session.transport, "websocket");
      const stats = await page.evaluate(() => ({ ...(window as any).Bonito.stats }));
      assert.equal(stats.transport, "websocket");
      assert.match(stats.fallbackReason, /no RTCPeerConnection/);
      assert.match(logger.warnings.join("\n"), new RegExp(`session ${session.id}: WebRTC could not connect \\(.*no RTCPeerConnection.*\\); continuing over the WebSocket`));
    } finally {
      await page.close();
    }
  });

  test("a page with WebRTC runs over the data channel, and its fallback socket is then refused", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(server.url);
      await page.waitForFunction(() => ((window as any).__bonitoFallbackPage?.length ?? 0) >= 100);
      const { session } = sequence.sessions.at(-1)!;
      assert.equal(session.transport, "webrtc");
      assert.equal(await page.evaluate(() => (window as any).Bonito.stats.transport), "webrtc");
      // The page knows the fallback socket's URL (secret included); once the session runs over
      // WebRTC nothing may open a second transport with it.
      const fallbackUrl = new URL(
        await page.evaluate(() => {
          const setup = [...document.scripts].map((s) => s.textContent ?? "").find((text) => text.includes("BonitoWebRTC.connect"))!;
          return JSON.parse(setup.slice(setup.indexOf("{"), setup.lastIndexOf("}") + 1)).fallback.url as string;
        }),
        server.url.replace("http", "ws"),
      );
      const intruder = new WebSocket(fallbackUrl);
      const [error] = await new Promise<[Error]>((resolve) => intruder.once("error", (e) => resolve([e])));
      assert.match(error.message, /404/);
      assert.equal(session.transport, "webrtc");
      assert.equal(session.status, "open");
    } finally {
      await page.close();
    }
  });
});
