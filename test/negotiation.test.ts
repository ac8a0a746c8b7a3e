/**
 * Negotiation between two real werift peers in one process, through the real
 * signaling server (standalone and attached): the channel opens and carries
 * messages both ways, survives the signaling server's shutdown, buffers early
 * candidates, and fails with a descriptive error when it cannot connect.
 * Setup times are reported as diagnostics, not asserted.
 */
import { describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { RTCPeerConnection, type RTCDataChannel } from "werift";
import { WebSocket } from "ws";
import { connectSignaling, SignalingServer, type SignalingClient } from "../src/signaling/index.js";
import { isRelayCandidate } from "../src/webrtc/sdp.js";
import {
  NegotiationError,
  negotiateAsAnswerer,
  negotiateAsOfferer,
  type AnswererOutgoing,
  type NegotiationIncoming,
  type NegotiationOptions,
  type NegotiationOutgoing,
  type NegotiationStage,
  type SignalingPort,
} from "../src/webrtc/negotiation.js";

const TEST_TIMEOUT = 30_000;
/** Loopback only, no STUN. */
const PEER_CONFIG = { iceServers: [], iceAdditionalHostAddresses: ["127.0.0.1"] };

/** A werift peer closed after the test: its channels first, then the pc (werift's pc.close() alone is invisible to the peer). */
function makePeer(t: TestContext): { pc: RTCPeerConnection; channels: RTCDataChannel[] } {
  const pc = new RTCPeerConnection(PEER_CONFIG);
  const peer = { pc, channels: [] as RTCDataChannel[] };
  t.after(async () => {
    for (const channel of peer.channels) channel.close();
    await pc.close();
  });
  return peer;
}

/** The next message on a werift channel, as text. */
function nextMessage(channel: RTCDataChannel): Promise<string> {
  return new Promise((resolve) => {
    const onMessage = (event: { data: string | Buffer }) => {
      channel.removeEventListener("message", onMessage);
      resolve(event.data.toString());
    };
    channel.addEventListener("message", onMessage);
  });
}

/** Send one message each way and check both arrive. */
async function pingPong(offererChannel: RTCDataChannel, answererChannel: RTCDataChannel): Promise<void> {
  const atAnswerer = nextMessage(answererChannel);
  offererChannel.send("from server peer");
  assert.equal(await atAnswerer, "from server peer");
  const atOfferer = nextMessage(offererChannel);
  answererChannel.send(Buffer.from("from frontend"));
  assert.equal(await atOfferer, "from frontend");
}

/** Records the milestones of one side, for the setup-time diagnostics. */
function stageLog(): { options: NegotiationOptions; text(): string } {
  const stages: string[] = [];
  return {
    options: { onProgress: (stage: NegotiationStage, ms: number) => stages.push(`${stage}@${ms}`) },
    text: () => stages.join(" "),
  };
}

interface Connected {
  offererChannel: RTCDataChannel;
  answererChannel: RTCDataChannel;
  client: SignalingClient;
  setupMs: number;
}

/** Run both sides of one negotiation through `server` and report the setup time. */
async function connectPeers(t: TestContext, server: SignalingServer, sessionId: string, answerer: NegotiationOptions = {}): Promise<Connected> {
  const offerer = makePeer(t);
  const frontend = makePeer(t);
  const offererLog = stageLog();
  const answererLog = stageLog();
  const started = performance.now();
  const room = await server.openRoom(sessionId);
  const offered = negotiateAsOfferer(offerer.pc, room, offererLog.options);
  const client = await connectSignaling(room.url, { sessionId, token: room.token, WebSocket, timeoutMs: 5_000 });
  t.after(() => client.close());
  const answered = negotiateAsAnswerer(frontend.pc, client, { ...answererLog.options, ...answerer });
  const [offererChannel, answererChannel] = await Promise.all([offered, answered]);
  const setupMs = performance.now() - started;
  offerer.channels.push(offererChannel);
  frontend.channels.push(answererChannel);
  // Negotiation is over: the room (and, with no other room, the server) can go.
  room.close();
  assert.equal(offererChannel.label, "bonito");
  assert.equal(answererChannel.label, "bonito");
  assert.equal(offererChannel.ordered, true);
  assert.equal(offererChannel.maxRetransmits, null, "reliable");
  t.diagnostic(`setup ${setupMs.toFixed(0)} ms | offerer: ${offererLog.text()} | answerer: ${answererLog.text()}`);
  return { offererChannel, answererChannel, client, setupMs };
}

/** A signaling port that passes everything through `transform` on the way out (null drops it). */
function rewritingPort<Out extends NegotiationOutgoing>(port: SignalingPort<Out>, transform: (msg: Out) => Out | null): SignalingPort<Out> {
  return {
    send: (msg) => {
      const out = transform(msg);
      return out ? port.send(out) : true;
    },
    onMessage: (callback: (msg: NegotiationIncoming) => void) => port.onMessage(callback),
    onClose: port.onClose ? (callback) => port.onClose!(callback) : undefined,
  };
}

/** A port that holds the session description back until the candidates have gone out. */
function descriptionLastPort<Out extends NegotiationOutgoing>(port: SignalingPort<Out>, delayMs: number): SignalingPort<Out> {
  return rewritingPort(port, (msg) => {
    if (msg.type !== "offer" && msg.type !== "answer") return msg;
    setTimeout(() => port.send(msg), delayMs);
    return null;
  });
}

/** Rewrite every candidate to TEST-NET-3 (RFC 5737), which nothing answers. */
function unreachable<Out extends NegotiationOutgoing>(msg: Out): Out {
  if (msg.type !== "candidate" || !msg.candidate) return msg;
  const candidate = msg.candidate.candidate.replace(/ \S+ \d+ typ /, " 203.0.113.7 9 typ ");
  return { ...msg, candidate: { ...msg.candidate, candidate } };
}

describe("negotiation between two werift peers", () => {
  it("opens the channel through a standalone signaling server", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = new SignalingServer({ mode: "standalone" });
    t.after(() => server.close());
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { offererChannel, answererChannel, setupMs } = await connectPeers(t, server, `standalone-${i}`);
      await pingPong(offererChannel, answererChannel);
      times.push(setupMs);
    }
    t.diagnostic(`standalone setup times: ${times.map((ms) => ms.toFixed(0)).join(", ")} ms`);
  });

  it("opens the channel through a signaling server attached to an HTTP server", { timeout: TEST_TIMEOUT }, async (t) => {
    const httpServer = http.createServer((_req, res) => res.end());
    await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
    t.after(async () => {
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    });
    const server = new SignalingServer({ mode: "attached", httpServer });
    t.after(() => server.close());
    const { offererChannel, answererChannel } = await connectPeers(t, server, "attached");
    await pingPong(offererChannel, answererChannel);
  });

  it("keeps the channel when the signaling server shuts down", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = new SignalingServer({ mode: "standalone" });
    t.after(() => server.close());
    const { offererChannel, answererChannel, client } = await connectPeers(t, server, "survivor");
    await client.closed;
    await server.close();
    assert.equal(server.listening, false);
    // A message each way after the shutdown: anything the shutdown did to the channel shows here.
    await pingPong(offererChannel, answererChannel);
    assert.equal(offererChannel.readyState, "open");
    assert.equal(answererChannel.readyState, "open");
    await pingPong(offererChannel, answererChannel);
  });

  it("compares the answerer's DTLS roles (setup times reported, not asserted)", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = new SignalingServer({ mode: "standalone" });
    t.after(() => server.close());
    const times: Record<string, number[]> = { active: [], passive: [] };
    for (let i = 0; i < 6; i++) {
      const role = i % 2 === 0 ? "active" : "passive";
      const { offererChannel, answererChannel, setupMs } = await connectPeers(t, server, `role-${i}`, { answererDtlsRole: role });
      await pingPong(offererChannel, answererChannel);
      times[role]!.push(setupMs);
    }
    t.diagnostic(`answerer a=setup:active: ${times.active!.map((ms) => ms.toFixed(0)).join(", ")} ms`);
    t.diagnostic(`answerer a=setup:passive: ${times.passive!.map((ms) => ms.toFixed(0)).join(", ")} ms`);
  });

  it("buffers candidates that arrive before the session description, on both sides", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = new SignalingServer({ mode: "standalone" });
    t.after(() => server.close());
    const offerer = makePeer(t);
    const frontend = makePeer(t);
    const room = await server.openRoom("early");
    const offered = negotiateAsOfferer(offerer.pc, descriptionLastPort(room, 100));
    const client = await connectSignaling(room.url, { sessionId: "early", token: room.token, WebSocket });
    t.after(() => client.close());
    const seenByFrontend: string[] = [];
    client.onMessage((msg) => seenByFrontend.push(msg.type));
    const answered = negotiateAsAnswerer(frontend.pc, descriptionLastPort<AnswererOutgoing>(client, 100));
    const [offererChannel, answererChannel] = await Promise.all([offered, answered]);
    offerer.channels.push(offererChannel);
    frontend.channels.push(answererChannel);
    assert.equal(seenByFrontend[0], "candidate", "the frontend saw a candidate before the offer");
    assert.ok(seenByFrontend.includes("offer"));
    room.close();
    await pingPong(offererChannel, answererChannel);
  });

  it("times out with a descriptive error when the frontend never answers", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = new SignalingServer({ mode: "standalone" });
    t.after(() => server.close());
    const offerer = makePeer(t);
    const room = await server.openRoom("silent");
    const offered = negotiateAsOfferer(offerer.pc, room, { timeoutMs: 1_000 });
    const client = await connectSignaling(room.url, { sessionId: "silent", token: room.token, WebSocket });
    t.after(() => client.close());
    const bye = new Promise<NegotiationIncoming>((resolve) => client.onMessage((msg) => msg.type === "bye" && resolve(msg)));
    await assert.rejects(offered, (error: unknown) => {
      assert.ok(error instanceof NegotiationError);
      assert.equal(error.code, "timeout");
      assert.match(error.message, /no answer from the frontend/);
      t.diagnostic(error.message);
      return true;
    });
    const received = await bye;
    assert.ok(received.type === "bye" && received.reason?.includes("no answer"), "the frontend is told why");
  });

  it("fails with a descriptive error when no candidate is reachable", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = new SignalingServer({ mode: "standalone" });
    t.after(() => server.close());
    const offerer = makePeer(t);
    const frontend = makePeer(t);
    const room = await server.openRoom("unreachable");
    const offered = negotiateAsOfferer(offerer.pc, rewritingPort(room, unreachable), { timeoutMs: 3_000 });
    const client = await connectSignaling(room.url, { sessionId: "unreachable", token: room.token, WebSocket });
    t.after(() => client.close());
    const answered = negotiateAsAnswerer(frontend.pc, rewritingPort<AnswererOutgoing>(client, unreachable), { timeoutMs: 3_000 });
    const [offerResult, answerResult] = await Promise.allSettled([offered, answered]);
    for (const result of [offerResult, answerResult]) {
      assert.equal(result.status, "rejected");
      const error = (result as PromiseRejectedResult).reason as unknown;
      assert.ok(error instanceof NegotiationError);
      t.diagnostic(`${error.code}: ${error.message}`);
      if (error.code === "remote-bye") continue; // the other side failed first and said so
      assert.ok(["timeout", "ice-failed"].includes(error.code), error.code);
      assert.match(error.message, /no route between the peers/);
      assert.match(error.message, /TURN/);
    }
  });

  it("relay-only sends the peer no host candidate, in trickle or in the description", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = new SignalingServer({ mode: "standalone" });
    t.after(() => server.close());
    const offerer = makePeer(t);
    const frontend = makePeer(t);
    const room = await server.openRoom("relay-only");
    // Everything the relay-only offerer puts on the wire, as the peer would receive it.
    const sent: NegotiationOutgoing[] = [];
    const recorded = rewritingPort(room, (msg) => (sent.push(msg), msg));
    // werift gathers host candidates here (no TURN server is configured): none may leave.
    const offered = negotiateAsOfferer(offerer.pc, recorded, { timeoutMs: 2_000, relayOnly: true });
    const client = await connectSignaling(room.url, { sessionId: "relay-only", token: room.token, WebSocket });
    t.after(() => client.close());
    const answered = negotiateAsAnswerer(frontend.pc, client, { timeoutMs: 2_000 });
    await Promise.allSettled([offered, answered]);
    const offer = sent.find((msg) => msg.type === "offer");
    assert.ok(offer && "sdp" in offer, "the offer was sent");
    assert.doesNotMatch(offer.sdp, /^a=candidate:.* typ (host|srflx|prflx)/m);
    const candidates = sent.flatMap((msg) => (msg.type === "candidate" && msg.candidate ? [msg.candidate.candidate] : []));
    assert.deepEqual(candidates.filter((c) => !isRelayCandidate(c)), []);
    assert.ok(sent.some((msg) => msg.type === "candidate" && msg.candidate === null), "the end of candidates is still signalled");
  });

  it("fails when the frontend says bye", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = new SignalingServer({ mode: "standalone" });
    t.after(() => server.close());
    const offerer = makePeer(t);
    const room = await server.openRoom("refused");
    const offered = negotiateAsOfferer(offerer.pc, room);
    const client = await connectSignaling(room.url, { sessionId: "refused", token: room.token, WebSocket });
    client.send({ type: "bye", reason: "user navigated away" });
    await assert.rejects(offered, (error: unknown) => {
      assert.ok(error instanceof NegotiationError);
      assert.equal(error.code, "remote-bye");
      assert.match(error.message, /user navigated away/);
      return true;
    });
    await client.closed;
  });

  it("rejects when aborted, and tells the frontend", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = new SignalingServer({ mode: "standalone" });
    t.after(() => server.close());
    const offerer = makePeer(t);
    const room = await server.openRoom("aborted");
    const controller = new AbortController();
    const offered = negotiateAsOfferer(offerer.pc, room, { signal: controller.signal });
    const client = await connectSignaling(room.url, { sessionId: "aborted", token: room.token, WebSocket });
    t.after(() => client.close());
    const bye = new Promise<NegotiationIncoming>((resolve) => client.onMessage((msg) => msg.type === "bye" && resolve(msg)));
    controller.abort();
    await assert.rejects(offered, (error: unknown) => error instanceof NegotiationError && error.code === "aborted");
    assert.equal((await bye).type, "bye");
  });

  it("fails fast when signaling closes before the offer is answered", { timeout: TEST_TIMEOUT }, async (t) => {
    const server = new SignalingServer({ mode: "standalone" });
    t.after(() => server.close());
    const frontend = makePeer(t);
    const room = await server.openRoom("abandoned");
    const client = await connectSignaling(room.url, { sessionId: "abandoned", token: room.token, WebSocket });
    const answered = negotiateAsAnswerer(frontend.pc, client, { timeoutMs: 10_000 });
    room.close(); // the owner gives up without ever offering
    await assert.rejects(answered, (error: unknown) => {
      assert.ok(error instanceof NegotiationError);
      assert.equal(error.code, "signaling-closed");
      assert.match(error.message, /before the offer was answered/);
      return true;
    });
  });
});
