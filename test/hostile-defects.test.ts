/**
 * One test per way a single hostile visitor could crash, starve or reach into another
 * session, each against a real server over real sockets: object-count bombs, compression
 * bombs, hanging upgrades, clients that never read or never finish a frame, session floods,
 * forged session caches, stolen session ids, oversized WebSocket frames, and promises that
 * nobody awaits.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { serve, WebSocketConnection, type BonitoServer, type Session } from "../src/index.js";
import { WebRTCConnection } from "../src/webrtc/index.js";
import { connectFrontend, connectWithBootstrap, type Frontend } from "../src/frontend/node/index.js";
import { echoApp } from "./helpers/echo-app.js";
import { httpGet } from "./helpers/http.js";
import { emptyMaps, forgedSessionCache, updateWithRawPayload, zeroBomb } from "./helpers/hostile-inputs.js";
import { nextValue, waitUntil, within, MiB } from "./helpers/payload.js";
import { fetchRawBootstrap, openSocket, rawFrontend } from "./helpers/raw-frontend.js";
import { rawDataChannel, type RawDataChannel } from "./helpers/raw-webrtc.js";
import { Kind, encodeHeader } from "../src/webrtc/channel/header.js";

const quiet = { error: () => {}, warn: () => {} };

/** The server-side session of a frontend. */
function sessionOf(server: BonitoServer, id: string): Session {
  const session = server.sessions.get(id);
  assert.ok(session, `the server knows session ${id}`);
  return session;
}

/** A round trip through the echo app: proves a frontend's session still works. */
async function echoRoundTrip(frontend: Frontend, value: string): Promise<void> {
  const echoed = nextValue(frontend.observable("output"), 20_000, `echo of ${value}`);
  await frontend.observable("input").set(value);
  assert.equal(await echoed, value);
}

function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

describe("hostile visitors: one defect each", { timeout: 180_000 }, () => {
  test("1. a 64 MiB frame of empty maps is refused while it decodes, naming maxFrameObjects; the neighbour keeps going", async (t) => {
    const echo = echoApp();
    const server = await serve(echo.app, { logger: quiet });
    try {
      const neighbour = await connectFrontend(server.url);
      const attacker = await rawFrontend(server.url);
      const session = sessionOf(server, attacker.bootstrap.sessionId);
      const started = performance.now();
      attacker.ws.send(updateWithRawPayload(emptyMaps(64 * MiB)));
      const info = await within(session.closed, 60_000, "the attacker's session closes");
      t.diagnostic(`refused ${(performance.now() - started).toFixed(0)} ms after the send began (64 MiB on loopback included)`);
      assert.match(info.reason, /more than 1000000 msgpack values \(limit maxFrameObjects\)/);
      await echoRoundTrip(neighbour, "still here");
      await neighbour.close();
    } finally {
      await server.close();
    }
  });

  test("2. a compressed frame may not inflate past the connection's maxFrameSize", async () => {
    const server = await serve(echoApp().app, {
      compression: true,
      logger: quiet,
      connection: () => new WebSocketConnection({ maxFrameSize: 4 * MiB }),
    });
    try {
      const attacker = await rawFrontend(server.url);
      const session = sessionOf(server, attacker.bootstrap.sessionId);
      const bomb = zeroBomb(16 * MiB);
      assert.ok(bomb.byteLength < 64 * 1024, `a ${bomb.byteLength}-byte bomb`);
      attacker.ws.send(bomb);
      const info = await within(session.closed, 30_000, "the bomb's session closes");
      assert.match(info.reason, /zlib frame inflates past maxFrameSize \(4194304 bytes\)/);
    } finally {
      await server.close();
    }
  });

  test("3. while a signaling room is pending, upgrades to unknown paths get 404 and their sockets close", async () => {
    const server = await serve(() => "", { connection: () => new WebRTCConnection({ iceServers: [] }), logger: quiet });
    try {
      const bootstrap = await fetchRawBootstrap(server.url);
      assert.equal(bootstrap.connection.type, "webrtc", "a room is pending");
      const before = openFds();
      const { port } = new URL(server.url);
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          within(rawUpgrade(Number(port), `/nowhere-${i}`), 10_000, `an answer to upgrade ${i}`),
        ),
      );
      for (const answer of answers) assert.match(answer, /^HTTP\/1\.1 404 /);
      await waitUntil(() => openFds() <= before, 10_000, `open files back to ${before} (now ${openFds()})`);
    } finally {
      await server.close();
    }
  });

  test("4a. a client that does not read is closed once its send queue passes maxSendQueueBytes", async () => {
    const server = await serve(echoApp().app, { logger: quiet, limits: { maxSendQueueBytes: 4 * MiB } });
    try {
      const attacker = await rawFrontend(server.url);
      const session = sessionOf(server, attacker.bootstrap.sessionId);
      attacker.sendLoaded();
      attacker.ws.pause();
      // Every input comes back as an output the client never reads.
      const chunk = new Uint8Array(MiB);
      for (let i = 0; i < 64; i++) attacker.send({ msg_type: "0", id: "input", payload: chunk });
      const info = await within(session.closed, 60_000, "the session of a client that does not read closes");
      assert.match(info.reason, /the frontend is not reading: \d+ bytes wait to be sent, above maxSendQueueBytes \(4194304 bytes\)/);
      attacker.ws.terminate();
    } finally {
      await server.close();
    }
  });

  test("4b. frames never finished count against maxInboundBytes over all sessions; the largest holder is closed", async () => {
    const server = await serve(echoApp().app, { logger: quiet, limits: { maxInboundBytes: 8 * MiB } });
    try {
      const neighbour = await connectFrontend(server.url);
      const attackers = await Promise.all([0, 1].map(() => rawFrontend(server.url)));
      const sessions = attackers.map((a) => sessionOf(server, a.bootstrap.sessionId));
      // WebSocket continuation frames: messages begun and never finished. However their bytes
      // interleave, when the total passes 8 MiB the first holds more than 5 MiB, the second at most 3.
      attackers[0]!.ws.send(new Uint8Array(7 * MiB), { fin: false });
      attackers[1]!.ws.send(new Uint8Array(3 * MiB), { fin: false });
      const first = await within(Promise.race(sessions.map((s, i) => s.closed.then((info) => ({ i, info })))), 30_000, "a holder is closed");
      assert.equal(first.i, 0, "the largest holder goes");
      assert.match(first.info.reason, /above maxInboundBytes \(8388608 bytes\); this session held the most/);
      assert.equal(sessions[1]!.status, "displayed", "the other keeps its session");
      await echoRoundTrip(neighbour, "unaffected");
      for (const attacker of attackers) attacker.ws.terminate();
      await neighbour.close();
    } finally {
      await server.close();
    }
  });

  test("4c. data-channel fragments never finished count against maxInboundBytes too", async () => {
    const server = await serve(echoApp().app, {
      logger: quiet,
      limits: { maxInboundBytes: 8 * MiB },
      connection: () => new WebRTCConnection({ iceServers: [] }),
    });
    const channels: RawDataChannel[] = [];
    try {
      const attackers = await Promise.all(
        [0, 1].map(async () => {
          const bootstrap = await fetchRawBootstrap(server.url);
          const channel = await rawDataChannel(bootstrap);
          channels.push(channel);
          return { session: sessionOf(server, bootstrap.sessionId), channel };
        }),
      );
      // DATA_MORE fragments and never a DATA_LAST; heartbeats would keep such a channel alive forever.
      const fragments = (mebibytes: number) =>
        Array.from({ length: mebibytes * 16 }, () => Uint8Array.of(encodeHeader(Kind.DATA_MORE), ...new Uint8Array(64 * 1024)));
      const sending = [attackers[0]!.channel.sendAll(fragments(7)), attackers[1]!.channel.sendAll(fragments(3))];
      const first = await within(Promise.race(attackers.map(({ session }, i) => session.closed.then((info) => ({ i, info })))), 60_000, "a holder is closed");
      assert.equal(first.i, 0, "the largest holder goes");
      assert.match(first.info.reason, /above maxInboundBytes \(8388608 bytes\); this session held the most/);
      assert.match(await within(attackers[0]!.channel.closed, 10_000, "the channel closes"), /maxInboundBytes/, "the CLOSE frame names the limit");
      await within(Promise.all(sending), 60_000, "the fragments are sent");
      assert.equal(attackers[1]!.session.status, "displayed", "the other keeps its session");
    } finally {
      for (const channel of channels) channel.close();
      await server.close();
    }
  });

  test("5. pending sessions are capped per address and in all: 503 naming the limit, a slot frees once a page loads", async () => {
    const defaults = await serve(() => "", { logger: quiet });
    try {
      const statuses = await Promise.all(Array.from({ length: 40 }, () => getPage(defaults.url)));
      assert.equal(statuses.filter((s) => s.status === 200).length, 32, "the default cap per address is 32");
      const refused = statuses.find((s) => s.status === 503)!;
      assert.match(refused.body, /limit maxPendingSessionsPerAddress 32/);
      assert.equal(refused.headers["retry-after"], "5");
    } finally {
      await defaults.close();
    }
    const server = await serve(() => "", { logger: quiet, limits: { maxPendingSessions: 6, maxPendingSessionsPerAddress: 4 } });
    try {
      const from = (address: string) => getPage(server.url, address);
      const first = await Promise.all([1, 2, 3, 4].map(() => from("127.0.0.1")));
      assert.deepEqual(first.map((s) => s.status), [200, 200, 200, 200]);
      assert.match((await from("127.0.0.1")).body, /limit maxPendingSessionsPerAddress 4/);
      assert.deepEqual([(await from("127.0.0.2")).status, (await from("127.0.0.2")).status], [200, 200]);
      const full = await from("127.0.0.3");
      assert.equal(full.status, 503);
      assert.match(full.body, /6 sessions have not finished loading \(limit maxPendingSessions 6\)/);
    } finally {
      await server.close();
    }
    // A page that finishes loading frees its slot.
    const freeing = await serve(() => "", { logger: quiet, limits: { maxPendingSessionsPerAddress: 1 } });
    try {
      const page = await rawFrontend(freeing.url);
      assert.equal((await getPage(freeing.url)).status, 503);
      page.sendLoaded();
      await waitUntil(() => sessionOf(freeing, page.bootstrap.sessionId).status === "open", 10_000, "the page loaded");
      assert.equal((await getPage(freeing.url)).status, 200);
      page.ws.terminate();
    } finally {
      await freeing.close();
    }
  });

  test("6. a session cache sent by one frontend never reaches another: refused as server-only", async () => {
    const pages: { session: Session; relay: { set(value: unknown): Promise<void> } }[] = [];
    const server = await serve(
      (session) => {
        const input = session.observable<unknown>(null, "input");
        const relay = session.observable<unknown>(null, "relay");
        session.observable("mine", "secret");
        pages.push({ session, relay });
        // A chat-like app: what one page sends, every other page sees.
        input.on((value) => {
          for (const page of pages) if (page.session !== session && page.session.status !== "closed") void page.relay.set(value);
        });
        return "";
      },
      { logger: quiet },
    );
    try {
      const victim = await connectFrontend(server.url);
      assert.equal(victim.observable("secret").value, "mine");
      const attacker = await rawFrontend(server.url);
      const attackerSession = sessionOf(server, attacker.bootstrap.sessionId);
      attacker.sendLoaded();
      const relayed = nextValue(victim.observable("relay"));
      attacker.send({ msg_type: "0", id: "input", payload: "hello" });
      assert.equal(await relayed, "hello", "relaying works");
      attacker.ws.send(updateWithRawPayload(forgedSessionCache(victim.sessionId, "secret", "forged")));
      // Ordering marker: anything relayed before this would have reached the victim first.
      const third = await rawFrontend(server.url);
      third.sendLoaded();
      const marker = nextValue(victim.observable("relay"));
      third.send({ msg_type: "0", id: "input", payload: "after" });
      assert.equal(await marker, "after");
      assert.equal(victim.observable("secret").value, "mine", "the victim's observable is untouched");
      const info = await within(attackerSession.closed, 20_000, "the forger's session closes");
      assert.match(info.reason, /extension 106 \(SessionCache\) is server-only/);
      third.ws.terminate();
      await victim.close();
    } finally {
      await server.close();
    }
  });

  test("7. a session id is not a credential: sockets without the secret, from another origin or host, are refused; the page's socket stays", async () => {
    const server = await serve(echoApp().app, { logger: quiet });
    try {
      const page = await connectFrontend(server.url);
      const { host } = new URL(server.url);
      const bare = new URL(`/bonito-ws/${page.sessionId}`, server.url);
      bare.protocol = "ws:";
      await assert.rejects(openSocket(bare.href), /HTTP 403/, "the session id alone");
      await assert.rejects(openSocket(`${bare.href}?secret=${"A".repeat(43)}`), /HTTP 403/, "a guessed secret");
      // With the secret, but from another site's page, or under another host name.
      const other = await rawFrontend(server.url);
      const withSecret = other.bootstrap.connection.url!;
      await assert.rejects(openSocket(withSecret, { origin: "http://evil.example" }), /HTTP 403/, "a foreign origin");
      await assert.rejects(openSocket(withSecret, { headers: { host: "evil.example" } }), /HTTP 403/, "a foreign host");
      assert.equal(other.ws.readyState, other.ws.OPEN, "the socket of that page is untouched");
      await within(other.sendLoaded(), 10_000, "the untouched socket's session is ready");
      const pong = other.nextMessage();
      other.send({ msg_type: "11" });
      await within(pong, 10_000, "a pong on the untouched socket");
      other.ws.terminate();
      // DNS rebinding: the attacker's name for this server is not one it answers to.
      const rebound = await getPage(server.url, undefined, { host: `evil.example:${new URL(server.url).port}` });
      assert.equal(rebound.status, 403);
      assert.match(rebound.body, /host "evil\.example" is not allowed: add it to serve\(\{ allowedHosts \}\)/);
      assert.equal(page.status(), "open");
      await echoRoundTrip(page, `untouched on ${host}`);
      await page.close();
    } finally {
      await server.close();
    }
  });

  test("8. a WebSocket frame above maxFrameSize closes with 1009 and ends the session at once", async () => {
    const server = await serve(echoApp().app, { logger: quiet, connection: () => new WebSocketConnection({ maxFrameSize: MiB }) });
    try {
      const attacker = await rawFrontend(server.url);
      const session = sessionOf(server, attacker.bootstrap.sessionId);
      // A client that never reads will never answer the close handshake.
      attacker.ws.pause();
      attacker.ws.send(new Uint8Array(2 * MiB));
      const info = await within(session.closed, 10_000, "the session ends");
      assert.match(info.reason, /larger than maxFrameSize \(1048576 bytes\); closed with 1009/);
      attacker.ws.resume();
      assert.equal((await within(attacker.closed, 10_000, "the client sees the close")).code, 1009);
    } finally {
      await server.close();
    }
  });

  test("9. ignored promises never end the process: set() after a close, and every failure of connectFrontend", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    process.on("uncaughtException", onUnhandled);
    try {
      let received = 0;
      const server = await serve(
        (session) => {
          const a = session.observable<unknown>(0, "a");
          const b = session.observable<unknown>(0, "b");
          // The natural app code: nobody awaits or catches b.set().
          a.on((v) => {
            received++;
            b.set(v);
          });
          return "";
        },
        { logger: quiet, limits: { maxPendingSessionsPerAddress: 1 } },
      );
      try {
        // The page never finishes loading, so every b.set() waits in the queue when it closes.
        const page = await rawFrontend(server.url);
        const session = sessionOf(server, page.bootstrap.sessionId);
        for (let i = 1; i <= 50; i++) page.send({ msg_type: "0", id: "a", payload: i });
        await waitUntil(() => received === 50, 10_000, "50 updates applied");
        page.ws.close(1000, "bye");
        await within(session.closed, 10_000, "the session closes");
        await assert.rejects(session.send({ msg_type: "11" }), /is closed/, "awaiting still tells");
        void session.evaljs("1");

        // connectFrontend rejects, whatever fails: a refused bootstrap (503) ...
        const blocker = await rawFrontend(server.url);
        await assert.rejects(connectFrontend(server.url), /HTTP 503/);
        blocker.ws.close(1000);
        await sessionOf(server, blocker.bootstrap.sessionId).closed;
        // ... a socket refused at the upgrade ...
        const bootstrap = await fetchRawBootstrap(server.url);
        const forged = { ...bootstrap, init: null, connection: { type: "websocket", url: `${bootstrap.connection.url!.split("?")[0]}?secret=wrong` } };
        await assert.rejects(connectWithBootstrap(forged as never, { timeoutMs: 2000 }), /did not open within 2000 ms|closed before it opened/);
      } finally {
        await server.close();
      }
      // ... and WebRTC signaling that closes before the join, or a server that is gone.
      const rtc = await serve(() => "", { connection: () => new WebRTCConnection({ iceServers: [] }), logger: quiet });
      const rtcBootstrap = await fetchRawBootstrap(rtc.url);
      await rtc.close();
      await assert.rejects(connectWithBootstrap(rtcBootstrap as never, { timeoutMs: 5000 }), /signaling/);
      await assert.rejects(connectFrontend(rtc.url), /fetch failed|ECONNREFUSED/);
      // Rejections are reported after the current turn: give them one.
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled.map(String), []);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      process.off("uncaughtException", onUnhandled);
    }
  });
});

/** Sends a WebSocket upgrade for `path` over plain TCP and resolves with the whole answer once the server closes. */
function rawUpgrade(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, "127.0.0.1");
    let answer = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => (answer += chunk));
    socket.on("end", () => {
      socket.destroy();
      resolve(answer);
    });
    socket.on("error", reject);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}

/** GETs a page (as a browser asks for it) from `localAddress`, with extra headers. */
function getPage(url: string, localAddress?: string, headers: Record<string, string> = {}) {
  return httpGet(url, { accept: "text/html", localAddress, headers });
}
