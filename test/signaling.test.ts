/**
 * The signaling server, client and schema against a real server on 127.0.0.1
 * and real `ws` clients: the happy path, every refusal (each followed by a
 * valid frontend to show the server still serves), lazy start/stop, and
 * attached mode sharing an HTTP server with another WebSocket server.
 */
import { describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import {
  connectSignaling,
  MAX_MESSAGE_BYTES,
  SignalingError,
  SignalingServer,
  type Room,
  type SignalingServerOptions,
} from "../src/signaling/index.js";
import { parseFrontendMessage, parseServerMessage, utf8Length, type FrontendToOwnerMessage } from "../src/signaling/schema.js";
import { createToken, digestToken, tokenMatches } from "../src/core/tokens.js";

const TEST_TIMEOUT = 15_000;

/** A raw frontend socket that records what the server sends and how it closes. */
interface RawFrontend {
  ws: WebSocket;
  messages: Array<Record<string, unknown>>;
  /** The next server message (waits if none is queued). */
  next(): Promise<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
}

function rawFrontend(url: string): Promise<RawFrontend> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const messages: Array<Record<string, unknown>> = [];
    const waiters: Array<(msg: Record<string, unknown>) => void> = [];
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString()) as Record<string, unknown>;
      const waiter = waiters.shift();
      if (waiter) waiter(msg);
      else messages.push(msg);
    });
    // A client may see ECONNRESET when the server drops it; "close" still follows.
    ws.on("error", () => undefined);
    const closed = new Promise<{ code: number; reason: string }>((done) =>
      ws.on("close", (code, reason) => done({ code, reason: reason.toString() })),
    );
    ws.once("open", () =>
      resolve({
        ws,
        messages,
        closed,
        next: () => {
          const queued = messages.shift();
          return queued ? Promise.resolve(queued) : new Promise((done) => waiters.push(done));
        },
      }),
    );
    ws.once("error", reject);
  });
}

/** Expect an `error` message with `code`, then a close with `closeCode`. */
async function expectRefusal(frontend: RawFrontend, code: string, closeCode: number): Promise<void> {
  const msg = await frontend.next();
  assert.equal(msg.type, "error");
  assert.equal(msg.code, code);
  assert.equal(typeof msg.message, "string");
  const closed = await frontend.closed;
  assert.equal(closed.code, closeCode);
  assert.equal(closed.reason, code);
}

/** A server closed after the test, whatever happens. */
function startServer(t: TestContext, options: Partial<SignalingServerOptions> = {}): SignalingServer {
  const server = new SignalingServer({ mode: "standalone", ...options } as SignalingServerOptions);
  t.after(() => server.close());
  return server;
}

/** Join `room` with the real client and check that the room sees it. */
async function joinValid(room: Room): Promise<void> {
  const joined = new Promise<void>((resolve) => room.onFrontendJoined(resolve));
  const client = await connectSignaling(room.url, { sessionId: room.sessionId, token: room.token, WebSocket, timeoutMs: 5_000 });
  await joined;
  client.close();
  await client.closed;
}

function nextOwnerMessage(room: Room): Promise<FrontendToOwnerMessage> {
  return new Promise((resolve) => {
    let done = false;
    room.onMessage((msg) => {
      if (!done) {
        done = true;
        resolve(msg);
      }
    });
  });
}

describe("schema", () => {
  it("accepts the documented messages and rejects malformed ones", () => {
    const candidate = { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", sdpMid: "0", sdpMLineIndex: 0 };
    assert.deepEqual(parseFrontendMessage({ type: "candidate", candidate }), { ok: true, message: { type: "candidate", candidate } });
    assert.deepEqual(parseServerMessage({ type: "candidate", candidate: null }), { ok: true, message: { type: "candidate", candidate: null } });
    assert.equal(parseServerMessage({ type: "candidate", candidate }).ok, true);
    assert.equal(parseFrontendMessage({ type: "candidate", candidate: { ...candidate, sdpMid: null, sdpMLineIndex: null } }).ok, false);
    assert.equal(parseFrontendMessage({ type: "candidate" }).ok, false);
    assert.equal(parseFrontendMessage({ type: "join", sessionId: "s", token: 5 }).ok, false);
    assert.equal(parseFrontendMessage({ type: "answer", sdp: "" }).ok, false);
    assert.equal(parseFrontendMessage([1, 2]).ok, false);
    assert.deepEqual(parseFrontendMessage({ type: "offer", sdp: "x" }), {
      ok: false,
      code: "unknown-type",
      message: 'unknown message type "offer" (expected one of join, answer, candidate, bye)',
    });
    // Extra fields are ignored (forward compatibility) and not copied.
    assert.deepEqual(parseFrontendMessage({ type: "bye", reason: "r", extra: 1 }), { ok: true, message: { type: "bye", reason: "r" } });
    assert.equal(utf8Length("aé€😀"), 1 + 2 + 3 + 4);
  });

  it("creates 256-bit base64url tokens and compares digests", () => {
    const token = createToken();
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(createToken(), token);
    assert.equal(tokenMatches(digestToken(token), token), true);
    assert.equal(tokenMatches(digestToken(token), token.slice(1)), false);
    assert.equal(tokenMatches(digestToken(token), ""), false);
  });
});

describe("signaling server", () => {
  it("carries join, offer, answer and candidates both ways, then ends on bye", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = startServer(t);
    const room = await server.openRoom("session-1");
    assert.match(room.url, /^ws:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(room.state, "waiting");
    // Sent before the frontend joins: queued and delivered right after `joined`.
    room.send({ type: "offer", sdp: "v=0 offer" });
    room.send({ type: "candidate", candidate: { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", sdpMid: "0", sdpMLineIndex: 0 } });
    const joined = new Promise<void>((resolve) => room.onFrontendJoined(resolve));

    const client = await connectSignaling(room.url, { sessionId: "session-1", token: room.token, WebSocket, timeoutMs: 5_000 });
    t.after(() => client.close());
    await joined;
    assert.equal(room.state, "joined");
    const received: unknown[] = [];
    const gotTwo = new Promise<void>((resolve) =>
      client.onMessage((msg) => {
        received.push(msg);
        if (received.length === 3) resolve();
      }),
    );
    room.send({ type: "candidate", candidate: null });
    await gotTwo;
    assert.deepEqual(received, [
      { type: "offer", sdp: "v=0 offer" },
      { type: "candidate", candidate: { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", sdpMid: "0", sdpMLineIndex: 0 } },
      { type: "candidate", candidate: null },
    ]);

    const fromFrontend: FrontendToOwnerMessage[] = [];
    const ownerGotAll = new Promise<void>((resolve) =>
      room.onMessage((msg) => {
        fromFrontend.push(msg);
        if (msg.type === "bye") resolve();
      }),
    );
    const ended = new Promise<string>((resolve) => room.onClose(resolve));
    client.send({ type: "answer", sdp: "v=0 answer" });
    client.send({ type: "candidate", candidate: { candidate: "candidate:2 1 udp 1 127.0.0.1 10 typ host", sdpMid: "0", sdpMLineIndex: 0, usernameFragment: "abcd" } });
    client.send({ type: "candidate", candidate: null });
    client.send({ type: "bye", reason: "done" });
    await ownerGotAll;
    assert.deepEqual(fromFrontend.map((m) => m.type), ["answer", "candidate", "candidate", "bye"]);
    assert.equal(await ended, "frontend-bye");
    const closeInfo = await client.closed;
    assert.equal(closeInfo.code, 1000);
    await server.whenStopped();
    assert.equal(server.listening, false);
  });

  it("ends the room when the owner closes it, and closes the frontend normally", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = startServer(t);
    const room = await server.openRoom("s");
    const client = await connectSignaling(room.url, { sessionId: "s", token: room.token, WebSocket });
    room.close();
    assert.deepEqual(await client.closed, { code: 1000, reason: "closed" });
    assert.equal(room.send({ type: "bye" }), false);
  });

  const refusals: Array<{ name: string; send: (ws: WebSocket, room: Room) => void; code: string; closeCode: number }> = [
    { name: "malformed JSON", send: (ws) => ws.send("{not json"), code: "bad-json", closeCode: 1008 },
    { name: "a binary message", send: (ws) => ws.send(Buffer.from([1, 2, 3])), code: "binary-message", closeCode: 1003 },
    { name: "an unknown type", send: (ws) => ws.send(JSON.stringify({ type: "hello" })), code: "unknown-type", closeCode: 1008 },
    { name: "a message without type", send: (ws) => ws.send(JSON.stringify({ sessionId: "x" })), code: "bad-message", closeCode: 1008 },
    {
      name: "a join with a missing field",
      send: (ws, room) => ws.send(JSON.stringify({ type: "join", sessionId: room.sessionId })),
      code: "bad-message",
      closeCode: 1008,
    },
    {
      name: "a join with a mistyped field",
      send: (ws, room) => ws.send(JSON.stringify({ type: "join", sessionId: room.sessionId, token: 42 })),
      code: "bad-message",
      closeCode: 1008,
    },
    {
      name: "a message over 64 KiB",
      send: (ws) => ws.send(JSON.stringify({ type: "answer", sdp: "x".repeat(MAX_MESSAGE_BYTES) })),
      code: "too-large",
      closeCode: 1009,
    },
    { name: "a message before join", send: (ws) => ws.send(JSON.stringify({ type: "answer", sdp: "v=0" })), code: "not-joined", closeCode: 1008 },
    {
      name: "a wrong token",
      send: (ws, room) => ws.send(JSON.stringify({ type: "join", sessionId: room.sessionId, token: createToken() })),
      code: "bad-token",
      closeCode: 4001,
    },
    {
      name: "an unknown session",
      send: (ws, room) => ws.send(JSON.stringify({ type: "join", sessionId: "nobody", token: room.token })),
      code: "unknown-session",
      closeCode: 4004,
    },
  ];

  for (const refusal of refusals) {
    it(`refuses ${refusal.name}, then still serves a valid frontend`, { timeout: TEST_TIMEOUT }, async (t) => {
      const server = startServer(t);
      const room = await server.openRoom("victim");
      const bad = await rawFrontend(room.url);
      t.after(() => bad.ws.terminate());
      refusal.send(bad.ws, room);
      await expectRefusal(bad, refusal.code, refusal.closeCode);
      assert.equal(room.state, "waiting", "a bad client does not disturb the room");
      await joinValid(room);
    });
  }

  it("cuts off a frame far above the limit at the transport (close 1009)", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = startServer(t);
    const room = await server.openRoom("s");
    const bad = await rawFrontend(room.url);
    bad.ws.send("x".repeat(4 * MAX_MESSAGE_BYTES));
    assert.equal((await bad.closed).code, 1009);
    await joinValid(room);
  });

  it("refuses a reused token, even while the first frontend is connected", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = startServer(t);
    const room = await server.openRoom("s");
    const first = await connectSignaling(room.url, { sessionId: "s", token: room.token, WebSocket });
    t.after(() => first.close());
    const second = await rawFrontend(room.url);
    second.ws.send(JSON.stringify({ type: "join", sessionId: "s", token: room.token }));
    await expectRefusal(second, "token-used", 4003);
    // The first frontend is undisturbed.
    const got = new Promise((resolve) => first.onMessage(resolve));
    room.send({ type: "offer", sdp: "v=0" });
    assert.deepEqual(await got, { type: "offer", sdp: "v=0" });
    // connectSignaling reports the server's refusal as a SignalingError with its code.
    await assert.rejects(connectSignaling(room.url, { sessionId: "s", token: room.token, WebSocket }), (error: unknown) => {
      assert.ok(error instanceof SignalingError);
      assert.equal(error.code, "token-used");
      assert.match(error.message, /already been used/);
      return true;
    });
  });

  it("expires an unused token, and refuses it afterwards", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = startServer(t, { tokenTtlMs: 150 });
    const expiring = await server.openRoom("expiring");
    const reason = await new Promise((resolve) => expiring.onClose(resolve));
    assert.equal(reason, "token-expired");
    await server.whenStopped();
    assert.equal(server.listening, false, "no room pending: the server stopped");
    // Keep the server up with another room so the late frontend can reach it.
    const other = await server.openRoom("other");
    const late = await rawFrontend(other.url);
    late.ws.send(JSON.stringify({ type: "join", sessionId: "expiring", token: expiring.token }));
    await expectRefusal(late, "token-expired", 4002);
    await joinValid(other);
  });

  it("refuses a socket that never joins", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = startServer(t, { joinTimeoutMs: 100 });
    const room = await server.openRoom("s");
    const silent = await rawFrontend(room.url);
    await expectRefusal(silent, "join-timeout", 4008);
    await joinValid(room);
  });

  it("ends the room when a joined frontend breaks the protocol", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = startServer(t);
    const room = await server.openRoom("s");
    const frontend = await rawFrontend(room.url);
    frontend.ws.send(JSON.stringify({ type: "join", sessionId: "s", token: room.token }));
    assert.deepEqual(await frontend.next(), { type: "joined" });
    const ended = new Promise((resolve) => room.onClose(resolve));
    frontend.ws.send(JSON.stringify({ type: "candidate", candidate: { candidate: 7 } }));
    await expectRefusal(frontend, "bad-message", 1008);
    assert.equal(await ended, "frontend-closed");
  });

  it("ends an idle joined room", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = startServer(t, { idleTimeoutMs: 150 });
    const room = await server.openRoom("s");
    const frontend = await rawFrontend(room.url);
    frontend.ws.send(JSON.stringify({ type: "join", sessionId: "s", token: room.token }));
    assert.deepEqual(await frontend.next(), { type: "joined" });
    await expectRefusal(frontend, "idle-timeout", 4009);
    assert.equal(room.endReason, "idle-timeout");
  });

  it("keeps rooms independent and survives a throwing owner callback", { timeout: TEST_TIMEOUT }, async (t) => {
    const errors: unknown[] = [];
    const server = startServer(t, { onError: (error) => errors.push(error) });
    const a = await server.openRoom("a");
    const b = await server.openRoom("b");
    assert.equal(a.url, b.url, "rooms share the server");
    a.onMessage(() => {
      throw new Error("owner bug");
    });
    const clientA = await connectSignaling(a.url, { sessionId: "a", token: a.token, WebSocket });
    t.after(() => clientA.close());
    clientA.send({ type: "answer", sdp: "v=0" });
    // A frontend with room a's token cannot enter room b.
    const intruder = await rawFrontend(b.url);
    intruder.ws.send(JSON.stringify({ type: "join", sessionId: "b", token: a.token }));
    await expectRefusal(intruder, "bad-token", 4001);
    const answered = nextOwnerMessage(b);
    const clientB = await connectSignaling(b.url, { sessionId: "b", token: b.token, WebSocket });
    t.after(() => clientB.close());
    clientB.send({ type: "answer", sdp: "v=0 b" });
    assert.deepEqual(await answered, { type: "answer", sdp: "v=0 b" });
    assert.equal(errors.length, 1);
    assert.equal(a.state, "joined", "the owner's bug did not end its room");
  });

  it("replaces a session's pending room with a new one", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = startServer(t);
    const first = await server.openRoom("s");
    const firstEnded = new Promise((resolve) => first.onClose(resolve));
    const second = await server.openRoom("s");
    assert.equal(await firstEnded, "replaced");
    assert.equal(server.listening, true);
    await joinValid(second);
  });

  it("starts lazily and stops when no room is pending", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = startServer(t);
    assert.equal(server.listening, false);
    assert.equal(server.address, null);
    const [a, b] = await Promise.all([server.openRoom("a"), server.openRoom("b")]);
    assert.equal(server.listening, true);
    const port = server.address!.port;
    assert.equal(await canConnect(port), true);
    a.close();
    await server.whenStopped();
    assert.equal(server.listening, true, "room b is still pending");
    b.close();
    await server.whenStopped();
    assert.equal(server.listening, false);
    assert.equal(await canConnect(port), false, "the port is closed");
    // And it starts again for the next room.
    const c = await server.openRoom("c");
    assert.equal(server.listening, true);
    await joinValid(c);
  });

  it("rejects connectSignaling on timeout when nobody answers the join", { timeout: TEST_TIMEOUT }, async (t) => {
    const mute = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    t.after(() => new Promise<void>((resolve) => mute.close(() => resolve())));
    await new Promise((resolve) => mute.once("listening", resolve));
    mute.on("connection", (ws) => t.after(() => ws.terminate()));
    const port = (mute.address() as net.AddressInfo).port;
    await assert.rejects(
      connectSignaling(`ws://127.0.0.1:${port}/`, { sessionId: "s", token: "t", WebSocket, timeoutMs: 200 }),
      (error: unknown) => error instanceof SignalingError && error.code === "timeout",
    );
  });

  it("attaches to a shared HTTP server on its path, next to another WebSocket server", { timeout: TEST_TIMEOUT }, async (t) => {
    const httpServer = http.createServer((_req, res) => res.end("page"));
    // The application's own WebSocket server: noServer, routed by path (see README on sharing).
    const echo = new WebSocketServer({ noServer: true });
    echo.on("connection", (ws) => ws.on("message", (data) => ws.send(`echo:${data.toString()}`)));
    httpServer.on("upgrade", (req, socket, head) => {
      if (req.url === "/app") echo.handleUpgrade(req, socket, head, (ws) => echo.emit("connection", ws, req));
    });
    await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
    t.after(async () => {
      for (const client of echo.clients) client.terminate();
      echo.close();
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    });
    const port = (httpServer.address() as net.AddressInfo).port;
    const server = new SignalingServer({ mode: "attached", httpServer });
    t.after(() => server.close());
    assert.equal(httpServer.listenerCount("upgrade"), 1);

    const room = await server.openRoom("s");
    assert.equal(room.url, `ws://127.0.0.1:${port}/bonito-signaling`);
    assert.equal(httpServer.listenerCount("upgrade"), 2);
    assert.equal(await echoOnce(`ws://127.0.0.1:${port}/app`), "echo:hi", "the other server still gets its path");
    const answered = nextOwnerMessage(room);
    const client = await connectSignaling(`${room.url}?v=1`, { sessionId: "s", token: room.token, WebSocket });
    client.send({ type: "answer", sdp: "v=0" });
    assert.deepEqual(await answered, { type: "answer", sdp: "v=0" });
    room.close();
    await client.closed;
    await server.whenStopped();
    assert.equal(httpServer.listenerCount("upgrade"), 1, "the upgrade handler is detached");
    assert.equal(await echoOnce(`ws://127.0.0.1:${port}/app`), "echo:hi", "the other server is unaffected");

    // publicUrl overrides the derived URL (for proxies).
    const proxied = new SignalingServer({ mode: "attached", httpServer, publicUrl: "wss://example.test/signal" });
    t.after(() => proxied.close());
    assert.equal((await proxied.openRoom("p")).url, "wss://example.test/signal");
  });

  it("refuses to open a room on an attached server that is not listening", { timeout: TEST_TIMEOUT }, async () => {
    const server = new SignalingServer({ mode: "attached", httpServer: http.createServer() });
    await assert.rejects(server.openRoom("s"), /not listening/);
    assert.equal(server.listening, false);
  });
});

/** Whether a TCP connection to 127.0.0.1:port succeeds. */
function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Send "hi" to an echo WebSocket and return the reply. */
function echoOnce(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("open", () => ws.send("hi"));
    ws.once("message", (data) => {
      resolve(data.toString());
      ws.close();
    });
    ws.once("error", reject);
  });
}
