/**
 * The fuzz suite: more than 10,000 generated hostile inputs at a live server (over WebSocket,
 * over real WebRTC data channels and at the signaling endpoint) while a canary frontend in
 * another process keeps doing round trips; and the fairness check: a healthy session's round
 * trips go on while a neighbour's worst allowed frame is decoded. `npm run attack` runs the
 * same suite with larger counts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { deflateSync } from "node:zlib";
import { serve, FRAME_DECODE_CHANNEL, WebSocketConnection, type BonitoServer } from "../src/index.js";
import { WebRTCConnection } from "../src/webrtc/index.js";
import { echoApp } from "./helpers/echo-app.js";
import { FUZZ_SERVER, formatTable, runHostileSuite } from "./helpers/hostile-suite.js";
import { spawnFixture } from "./helpers/process.js";
import { rawFrontend } from "./helpers/raw-frontend.js";
import { updateWithRawPayload } from "./helpers/hostile-inputs.js";
import { within, MiB } from "./helpers/payload.js";

describe("hostile fuzz", { timeout: 900_000 }, () => {
  test("10,000+ hostile inputs over WebSocket, data channels and signaling: the server lives, the canary keeps going, memory and files come back", async (t) => {
    const result = await runHostileSuite({ scale: 1, seed: 20261130, server: FUZZ_SERVER });
    for (const line of formatTable(result.rows).split("\n")) t.diagnostic(line);
    const MB = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
    t.diagnostic(`server RSS ${MB(result.start.rss)} before, ${MB(result.end.rss)} after; open files ${result.start.fds} before, ${result.end.fds} after`);
    t.diagnostic(`server JS heap ${MB(result.start.heapUsed)} used of ${MB(result.start.heapTotal)} before, ${MB(result.end.heapUsed)} of ${MB(result.end.heapTotal)} after; array buffers ${MB(result.start.arrayBuffers)} before, ${MB(result.end.arrayBuffers)} after`);
    for (const [name, lane] of Object.entries(result.canaryUnderAttack)) {
      t.diagnostic(`canary ${name}: ${lane.roundTrips} round trips under attack, p99 ${lane.p99RttMs.toFixed(1)} ms, worst ${lane.maxRttMs.toFixed(1)} ms`);
    }

    const tries = result.rows.reduce((sum, row) => sum + row.tries, 0);
    assert.ok(tries >= 10_000, `${tries} hostile inputs`);
    for (const row of result.rows) {
      assert.deepEqual(row.failures, [], `${row.attack}: every try answered`);
      assert.ok(row.serverAlive, `${row.attack}: the server is alive`);
      assert.ok(row.canaryOk, `${row.attack}: the canary kept its sessions and every round trip`);
      if (row.refuses) assert.ok(row.refused > 0, `${row.attack}: refused at least once`);
    }
    for (const [name, lane] of Object.entries(result.canary)) {
      assert.ok(lane.open, `canary ${name} still open (${lane.closeReason ?? ""})`);
      assert.equal(lane.lost, 0, `canary ${name} lost no round trip`);
      assert.ok(lane.roundTrips > 0);
    }
    assert.ok(result.end.rss <= result.start.rss * 1.2, `server RSS back within 20 %: ${MB(result.start.rss)} → ${MB(result.end.rss)}`);
    assert.ok(result.end.fds <= result.start.fds, `open files back to ${result.start.fds}: ${result.end.fds}`);
  });

  test("while a neighbour's worst allowed frame decodes, a healthy session's round trips go on (WebSocket and WebRTC)", async (t) => {
    const maxFrameSize = 64 * MiB;
    const quiet = { error: () => {}, warn: () => {} };
    const servers: BonitoServer[] = [];
    try {
      const ws = await serve(echoApp().app, { compression: true, logger: quiet, connection: () => new WebSocketConnection({ maxFrameSize }) });
      const rtc = await serve(echoApp().app, { compression: true, logger: quiet, connection: () => new WebRTCConnection({ iceServers: [], channel: { maxFrameSize } }) });
      servers.push(ws, rtc);
      const healthy = spawnFixture("canary", [JSON.stringify({ ws: ws.url, rtc: rtc.url })]);
      try {
        await healthy.waitFor(/^READY$/, 60_000);
        const canaryIds = new Set([...ws.sessions.keys(), ...rtc.sessions.keys()]);
        assert.equal(canaryIds.size, 2);

        // The worst frame the limits allow: compressed, inflating to just under maxFrameSize,
        // a string of three-byte characters (the slowest to decode), for an observable nobody
        // watches (so nothing is sent back: this measures decoding alone).
        const characters = Math.floor((maxFrameSize - 64) / 3);
        const text = Buffer.alloc(characters * 3);
        for (let i = 0; i < text.length; i += 3) text.set([0xe2, 0x82, 0xac], i);
        const raw = Buffer.concat([updateWithRawPayload(Uint8Array.of(0xdb, ...u32(text.length)), "nobody"), text]);
        assert.ok(raw.length <= maxFrameSize);
        const worst = deflateSync(raw, { level: 9 });

        const attacker = await rawFrontend(ws.url);
        attacker.sendLoaded();
        const timeline: string[] = [];
        const onDecode = (event: unknown) => {
          const { sessionId, phase, bytes } = event as { sessionId: string; phase: string; bytes: number };
          if (sessionId === attacker.bootstrap.sessionId && bytes === worst.length) timeline.push(`attacker ${phase}`);
          else if (canaryIds.has(sessionId) && phase === "end") timeline.push(`canary ${ws.sessions.has(sessionId) ? "ws" : "rtc"}`);
        };
        subscribe(FRAME_DECODE_CHANNEL, onDecode);
        let decoded: Promise<void>;
        try {
          decoded = new Promise<void>((resolve) => {
            const check = (event: unknown) => {
              const { sessionId, phase, bytes } = event as { sessionId: string; phase: string; bytes: number };
              if (sessionId === attacker.bootstrap.sessionId && phase === "end" && bytes === worst.length) {
                unsubscribe(FRAME_DECODE_CHANNEL, check);
                resolve();
              }
            };
            subscribe(FRAME_DECODE_CHANNEL, check);
          });
          const before = await reportOf(healthy);
          const started = performance.now();
          attacker.ws.send(worst);
          await within(decoded, 120_000, "the worst frame decodes");
          const decodeMs = performance.now() - started;
          const after = await reportOf(healthy);
          const during = timeline.slice(timeline.indexOf("attacker start"), timeline.indexOf("attacker end"));
          const roundTrips = (lane: string) => during.filter((entry) => entry === `canary ${lane}`).length;
          t.diagnostic(`a ${(worst.length / 1024).toFixed(0)} KiB frame inflating to ${(raw.length / MiB).toFixed(0)} MiB decoded in ${decodeMs.toFixed(0)} ms`);
          t.diagnostic(`canary frames decoded meanwhile: WebSocket ${roundTrips("ws")}, WebRTC ${roundTrips("rtc")}`);
          t.diagnostic(`canary round trips meanwhile: WebSocket ${after.ws.roundTrips}, worst ${after.ws.maxRttMs.toFixed(1)} ms; WebRTC ${after.rtc.roundTrips}, worst ${after.rtc.maxRttMs.toFixed(1)} ms (just before: worst ${before.ws.maxRttMs.toFixed(1)} / ${before.rtc.maxRttMs.toFixed(1)} ms)`);
          // Ordering, not timing: with one blocking decode no other frame could be processed in between.
          assert.ok(roundTrips("ws") > 0, "the WebSocket canary's frames were processed while the worst frame decoded");
          assert.ok(roundTrips("rtc") > 0, "the WebRTC canary's frames were processed while the worst frame decoded");
          assert.equal(after.ws.open && after.rtc.open, true, "the canary kept both sessions (no heartbeat expired)");
          assert.equal(after.ws.lost + after.rtc.lost, 0);
          assert.equal(ws.sessions.get(attacker.bootstrap.sessionId)?.status, "open", "the worst allowed frame is accepted");
        } finally {
          unsubscribe(FRAME_DECODE_CHANNEL, onDecode);
          attacker.ws.terminate();
        }
        const finalReply = healthy.waitFor(/^FINAL /, 30_000);
        healthy.send("stop");
        await finalReply;
      } finally {
        await healthy.stop();
      }
    } finally {
      await Promise.all(servers.map((server) => server.close()));
    }
  });
});

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** The canary's round trips since its previous report. */
async function reportOf(canary: ReturnType<typeof spawnFixture>): Promise<Record<string, { roundTrips: number; maxRttMs: number; open: boolean; lost: number }>> {
  const reply = canary.waitFor(/^REPORT (.*)$/, 30_000);
  canary.send("report");
  return JSON.parse((await reply)[1]!);
}
