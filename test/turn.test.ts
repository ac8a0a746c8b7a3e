/**
 * TURN: a real relay (Debian coturn, started here on 127.0.0.1 with `allow-loopback-peers`)
 * and `iceTransportPolicy: "relay"` on both peers, so the only path between them is through
 * the relay: Node ↔ Node on each backend, and Node ↔ Chromium. Then short-lived per-session
 * credentials from a shared secret (coturn's `use-auth-secret`).
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, type BonitoServer, type Session } from "../src/index.js";
import { WebRTCConnection, turnCredentials, type WebRTCBootstrap } from "../src/webrtc/index.js";
import { connectFrontend, fetchBootstrap, type Frontend } from "../src/frontend/node/index.js";
import { startTurnServer, type TurnServer } from "./helpers/coturn.js";
import { backendCases } from "./helpers/backends.js";
import { launchBrowser, type TestBrowser } from "./helpers/browser.js";
import { openPage, pageEcho } from "./helpers/page.js";
import { echoApp } from "./helpers/echo-app.js";
import { nextValue, patternBytes } from "./helpers/payload.js";

/** A 256 KiB echo through the relay, byte-exact. */
async function echoThroughRelay(frontend: Frontend): Promise<void> {
  const payload = patternBytes(256 * 1024, 5);
  const echoed = nextValue(frontend.observable<Uint8Array>("output"), 20_000);
  await frontend.observable("input").set(payload);
  assert.ok(Buffer.from(await echoed).equals(payload), "bytes differ");
}

describe("TURN relay only, long-term credential", { timeout: 180_000 }, async () => {
  let turn: TurnServer;
  before(async () => {
    turn = await startTurnServer();
  });
  after(async () => {
    await turn?.stop();
  });

  for (const { backend, skip } of await backendCases()) {
    test(`Node ↔ Node [${backend}] connects through the relay`, { skip }, async (t) => {
      const server = await serve(echoApp().app, {
        connection: () => new WebRTCConnection({ backend, iceServers: [turn.iceServer()], iceTransportPolicy: "relay" }),
      });
      const allocationsBefore = turn.allocations();
      try {
        const bootstrap = await fetchBootstrap(server.url);
        assert.equal((bootstrap.connection as WebRTCBootstrap).iceTransportPolicy, "relay", "the frontend is told to relay too");
        const started = performance.now();
        const frontend = await connectFrontend(server.url, { webrtc: { backend } });
        const setupMs = performance.now() - started;
        try {
          await echoThroughRelay(frontend);
        } finally {
          await frontend.close();
        }
        // One allocation per peer: each side reached the other only through its relayed address.
        assert.ok(turn.allocations() - allocationsBefore >= 2, `allocations: ${turn.allocations() - allocationsBefore}`);
        t.diagnostic(`relayed setup (bootstrap to open) ${setupMs.toFixed(0)} ms`);
      } finally {
        await server.close();
      }
    });
  }

  test("Node ↔ Chromium connects through the relay", async (t) => {
    const server = await serve(echoApp().app, {
      connection: () => new WebRTCConnection({ iceServers: [turn.iceServer()], iceTransportPolicy: "relay" }),
    });
    let browser: TestBrowser | undefined;
    const allocationsBefore = turn.allocations();
    try {
      browser = await launchBrowser();
      const started = performance.now();
      const page = await openPage(browser, server.url);
      t.diagnostic(`page load to connected, relayed: ${(performance.now() - started).toFixed(0)} ms`);
      assert.deepEqual(await pageEcho(page, 300_000), { length: 300_000, equal: true, type: "Uint8Array" });
      assert.ok(turn.allocations() - allocationsBefore >= 2, `allocations: ${turn.allocations() - allocationsBefore}`);
    } finally {
      await browser?.close();
      await server.close();
    }
  });
});

describe("TURN relay only, short-lived credentials per session", { timeout: 120_000 }, () => {
  const secret = "test-shared-secret-that-never-leaves-the-server";
  let turn: TurnServer;
  let server: BonitoServer;
  const issued = new Map<string, string>();

  before(async () => {
    turn = await startTurnServer({ auth: { mode: "shared-secret", secret } });
    server = await serve(echoApp().app, {
      connection: () =>
        new WebRTCConnection({
          iceTransportPolicy: "relay",
          iceServers: (session: Session) => {
            const server = turnCredentials({ urls: turn.url, secret, user: session.id, ttlSeconds: 600 });
            issued.set(session.id, server.username!);
            return [server];
          },
        }),
    });
  });
  after(async () => {
    await server?.close();
    await turn?.stop();
  });

  test("each session gets its own credential, and the secret stays on the server", async () => {
    const first = await fetchBootstrap(server.url);
    const second = await fetchBootstrap(server.url);
    const [a, b] = [first, second].map((bootstrap) => (bootstrap.connection as WebRTCBootstrap).iceServers[0]!);
    assert.match(a!.username!, new RegExp(`^\\d+:${first.sessionId}$`));
    assert.notEqual(a!.username, b!.username);
    assert.notEqual(a!.credential, b!.credential);
    for (const bootstrap of [first, second]) assert.ok(!JSON.stringify(bootstrap).includes(secret), "the secret is not in the bootstrap");
    // The expiry is ten minutes from now, not a day.
    const expiry = Number(a!.username!.split(":")[0]);
    assert.ok(Math.abs(expiry - (Date.now() / 1000 + 600)) < 60, `expiry ${expiry}`);
  });

  test("a Node frontend connects through the relay with its session's credential", async () => {
    const allocationsBefore = turn.allocations();
    const frontend = await connectFrontend(server.url);
    try {
      assert.equal(frontend.connectionType, "webrtc");
      await echoThroughRelay(frontend);
      assert.ok(issued.has(frontend.sessionId));
    } finally {
      await frontend.close();
    }
    assert.ok(turn.allocations() - allocationsBefore >= 2);
  });

  test("the relay refuses an expired credential", async () => {
    const expired = await serve(echoApp().app, {
      connection: () =>
        new WebRTCConnection({
          iceTransportPolicy: "relay",
          negotiationTimeoutMs: 3000,
          fallback: false,
          iceServers: [turnCredentials({ urls: turn.url, secret, ttlSeconds: 600, now: Date.now() - 3_600_000 })],
        }),
    });
    const allocationsBefore = turn.allocations();
    try {
      await assert.rejects(connectFrontend(expired.url), /no local ICE candidates|no data channel/);
      assert.equal(turn.allocations(), allocationsBefore, "no allocation with an expired credential");
    } finally {
      await expired.close();
    }
  });
});
