/**
 * The attacks of the hostile suite, each a family of tries against a live server: one try
 * is one hostile input on a connection of its own (a fresh session, data channel or
 * signaling socket), and ends when the server has answered it: refused (the connection
 * closed, or the request got an error status) or accepted (the session answered a ping
 * sent after the input, so it is still alive). A try the server never answers fails the run.
 */
import { connect as tcpConnect } from "node:net";
import WebSocket from "ws";
import { encodeClientFrame, zlibDeflate } from "../../src/protocol/index.js";
import { httpGet } from "./http.js";
import { Kind, encodeHeader, encodeHeartbeat } from "../../src/webrtc/channel/header.js";
import { fragmentFrame } from "../../src/webrtc/channel/fragmenter.js";
import {
  REFUSED_EXTENSION_TYPES,
  emptyMaps,
  extension,
  forgedSessionCache,
  hostileFrame,
  nestedArrays,
  objectsInPieces,
  pick,
  randomBytes,
  randomInt,
  updateWithRawPayload,
  zeroBomb,
  type Random,
} from "./hostile-inputs.js";
import { fetchRawBootstrap, openSocket, rawFrontend, type RawBootstrap } from "./raw-frontend.js";
import { rawDataChannel } from "./raw-webrtc.js";

/** The servers under attack (see test/fixtures/hostile-server.ts). */
export interface Targets {
  /** WebSocket sessions, compression off. */
  ws: string;
  /** WebSocket sessions, compression on. */
  wsz: string;
  /** WebRTC sessions. */
  rtc: string;
}

/** How the server answered one try. */
export type Outcome = "refused" | "accepted";

/** A family of hostile inputs. */
export interface Attack {
  name: string;
  /** Tries at scale 1. */
  tries: number;
  /** Tries run at once. */
  concurrency: number;
  /** False for inputs the server holds rather than refuses (a message begun and never finished, until the client leaves). */
  refuses?: boolean;
  run(random: Random, round: number): Promise<Outcome>;
}

/** Every try is bounded: a server that does not answer within this fails the run. */
export const TRY_TIMEOUT_MS = 30_000;

/** The largest frame the servers accept, as the suite configured them. */
export interface SuiteLimits {
  maxFrameSize: number;
  maxInboundBytes: number;
}

const PING = encodeClientFrame({ msg_type: "11" }, false);

/** Valid frontend frames, the raw material of mutations. */
const VALID_FRAMES = [
  PING,
  encodeClientFrame({ msg_type: "0", id: "input", payload: { a: [1, 2.5, "x"], f: new Float32Array(3), s: "grüße" } }, false),
  encodeClientFrame({ msg_type: "3", message: "m", exception: "e", stacktrace: "s" }, false),
  encodeClientFrame({ msg_type: "9", payload: [{ msg_type: "11" }, { msg_type: "0", id: "input", payload: 1 }] }, false),
];

// ---- WebSocket sessions -----------------------------------------------------------------

/**
 * Leaves like a page that closes: with a close frame, so that the server ends the session at
 * once (a socket cut without one keeps its session for the reconnect window, holding one of
 * the address's pending slots).
 */
async function leave(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.OPEN) {
    const closed = new Promise((resolve) => ws.once("close", resolve));
    ws.close(1000);
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000))]);
  }
  ws.terminate();
}

/**
 * A fresh WebSocket session: loads, sends `inputs` (binary unless a string), then a ping.
 * Refused if the server closes the socket before answering; accepted on any answer.
 */
async function sessionTry(url: string, inputs: (Uint8Array | string)[], compressed = false): Promise<Outcome> {
  const frontend = await rawFrontend(url);
  try {
    // The session is ready once it has sent its first frame; the input comes after that.
    await frontend.sendLoaded();
    const answered = Promise.race([frontend.nextMessage().then((): Outcome => "accepted"), frontend.closed.then((): Outcome => "refused")]);
    for (const input of inputs) frontend.ws.send(input);
    frontend.ws.send(compressed ? zlibDeflate(PING) : PING);
    return await answered;
  } finally {
    await leave(frontend.ws);
  }
}

/** One WebSocket frame built by hand: any opcode, flags and masking, so that it can break RFC 6455. */
function wsFrame(opcode: number, payload: Uint8Array, options: { fin?: boolean; rsv?: number; masked?: boolean } = {}): Uint8Array {
  const { fin = true, rsv = 0, masked = true } = options;
  const length = payload.length;
  const extended = length < 126 ? [] : length < 0x10000 ? [length >> 8, length & 0xff] : [0, 0, 0, 0, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff];
  const short = length < 126 ? length : length < 0x10000 ? 126 : 127;
  const mask = masked ? [0x12, 0x34, 0x56, 0x78] : [];
  const head = [(fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0xf), (masked ? 0x80 : 0) | short, ...extended, ...mask];
  const frame = new Uint8Array(head.length + length);
  frame.set(head);
  for (let i = 0; i < length; i++) frame[head.length + i] = masked ? payload[i]! ^ mask[i % 4]! : payload[i]!;
  return frame;
}

/** Breaches of RFC 6455 itself, below any Bonito frame. */
function protocolBreach(random: Random): Uint8Array {
  const payload = randomBytes(random, randomInt(random, 40));
  switch (randomInt(random, 7)) {
    case 0:
      return wsFrame(pick(random, [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]), payload);
    case 1:
      return wsFrame(2, payload, { rsv: 1 + randomInt(random, 7) });
    case 2:
      return wsFrame(2, payload, { masked: false });
    case 3:
      return wsFrame(9, randomBytes(random, 126 + randomInt(random, 200)));
    case 4:
      return wsFrame(9, payload, { fin: false });
    case 5:
      return wsFrame(0, payload);
    default:
      return wsFrame(8, Uint8Array.of(0x03, 0xe7));
  }
}

/** A session whose socket is opened by hand, to send bytes no WebSocket library would. */
async function protocolBreachTry(url: string, random: Random): Promise<Outcome> {
  const bootstrap = await fetchRawBootstrap(url);
  const target = new URL(bootstrap.connection.url!);
  const socket = tcpConnect(Number(target.port), target.hostname);
  try {
    const ended = new Promise<Outcome>((resolve) => {
      socket.on("error", () => resolve("refused"));
      socket.on("close", () => resolve("refused"));
    });
    let upgraded = false;
    socket.on("data", (chunk: Buffer) => {
      if (upgraded || !chunk.toString("latin1").startsWith("HTTP/1.1 101")) return;
      upgraded = true;
      socket.write(protocolBreach(random));
    });
    socket.write(
      `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    return await ended;
  } finally {
    socket.destroy();
  }
}

/** A message begun with continuation frames and never finished; the client leaves. Accepted if the server still answers pings meanwhile. */
async function unfinishedTry(url: string, bytes: number): Promise<Outcome> {
  const frontend = await rawFrontend(url);
  try {
    const answered = new Promise<Outcome>((resolve) => {
      frontend.ws.once("pong", () => resolve("accepted"));
      void frontend.closed.then(() => resolve("refused"));
    });
    frontend.ws.send(new Uint8Array(bytes), { fin: false });
    frontend.ws.ping();
    return await answered;
  } finally {
    await leave(frontend.ws);
  }
}

/**
 * `sockets` sessions at once each begin a message of `bytes` and never finish it, more than
 * `maxInboundBytes` in all: the server closes the largest holders. Resolves with how many
 * were refused (closed) once every socket has answered a ping sent after its bytes.
 */
export async function unfinishedFlood(url: string, sockets: number, bytes: number): Promise<number> {
  const frontends = await Promise.all(Array.from({ length: sockets }, () => rawFrontend(url)));
  try {
    const answer = (frontend: (typeof frontends)[number]) =>
      new Promise<boolean>((resolve) => {
        if (frontend.ws.readyState !== WebSocket.OPEN) return resolve(false);
        frontend.ws.once("pong", () => resolve(true));
        void frontend.closed.then(() => resolve(false));
        frontend.ws.ping();
      });
    for (const frontend of frontends) frontend.ws.send(new Uint8Array(bytes), { fin: false });
    await Promise.all(frontends.map(answer));
    // Every byte has been counted by now; a second ping orders any close the counting caused before its answer.
    const alive = await Promise.all(frontends.map(answer));
    return alive.filter((open) => !open).length;
  } finally {
    await Promise.all(frontends.map((frontend) => leave(frontend.ws)));
  }
}

// ---- HTTP and upgrades --------------------------------------------------------------------

async function httpStatus(url: string, options: { localAddress?: string; headers?: Record<string, string> } = {}): Promise<number> {
  return (await httpGet(url, options)).status;
}

async function upgradeTry(url: string, options: WebSocket.ClientOptions): Promise<Outcome> {
  try {
    const ws = await openSocket(url, options);
    ws.terminate();
    return "accepted";
  } catch {
    return "refused";
  }
}

// ---- WebRTC data channels -------------------------------------------------------------------

const DATA_LAST = encodeHeader(Kind.DATA_LAST);
const DATA_MORE = encodeHeader(Kind.DATA_MORE);

function message(header: number, payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(1 + payload.length);
  bytes[0] = header;
  bytes.set(payload, 1);
  return bytes;
}

/** Every kind of broken data-channel framing (the header layout is in webrtc/channel/header.ts). */
function framingViolation(random: Random, maxFrameSize: number, maxMessageSize: number): Uint8Array[] {
  const fragment = Math.min(maxMessageSize, 64 * 1024) - 1;
  switch (randomInt(random, 9)) {
    case 0:
      return [new Uint8Array(0)];
    case 1:
      return [message((1 + randomInt(random, 3)) << 6 | pick(random, [1, 2, 7]), randomBytes(random, 8))];
    case 2:
      return [message(pick(random, [0, 5, 6, 8, 9, 31, 63]), randomBytes(random, randomInt(random, 16)))];
    case 3:
      // BATCH with no entry, a length past the end, a 6-byte length, a length ≥ 2^32.
      return [message(encodeHeader(Kind.BATCH), pick(random, [new Uint8Array(0), Uint8Array.of(0x7f, 1), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0x01), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x1f)]))];
    case 4:
      return [message(DATA_MORE, randomBytes(random, 10)), message(encodeHeader(Kind.BATCH), Uint8Array.of(1, 0x91))];
    case 5: {
      // A frame past maxFrameSize in fragments.
      const count = Math.ceil(maxFrameSize / fragment) + 1;
      return Array.from({ length: count }, (_, i) => message(i === count - 1 ? DATA_LAST : DATA_MORE, new Uint8Array(fragment)));
    }
    case 6:
      return [message(encodeHeader(Kind.BATCH), Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x08))];
    case 7:
      return [randomBytes(random, 1 + randomInt(random, 200))];
    default:
      return [message(DATA_LAST, new Uint8Array(0))];
  }
}

/**
 * A fresh data channel: sends JSDoneLoading, then `messages(maxMessageSize)`, then a ping.
 * Refused if the server closes the channel; accepted if anything but a heartbeat comes back.
 */
async function channelTry(url: string, messages: (maxMessageSize: number) => Uint8Array[], probe = true): Promise<Outcome> {
  const bootstrap = await fetchRawBootstrap(url);
  const channel = await rawDataChannel(bootstrap);
  try {
    const loaded = encodeClientFrame({ msg_type: "8", session: bootstrap.sessionId, message: "", exception: "nothing", stacktrace: "" }, false);
    // The session is ready once it has sent its first frame; the input comes after that.
    const ready = channel.nextReply();
    channel.send(message(DATA_LAST, loaded));
    await ready;
    const answered = Promise.race([channel.closed.then((): Outcome => "refused"), channel.nextReply().then((): Outcome => "accepted")]);
    await channel.sendAll(messages(channel.maxMessageSize));
    if (!probe) return "accepted";
    try {
      channel.send(message(DATA_LAST, PING));
    } catch {
      // The server closed the channel while the input was still going out.
    }
    return await answered;
  } finally {
    channel.close();
  }
}

// ---- signaling ------------------------------------------------------------------------------

/** Close codes and `error` messages by which the signaling server refuses a socket. */
async function signalingTry(url: string, payload: string | Uint8Array | string[]): Promise<Outcome> {
  let ws: WebSocket;
  try {
    ws = await openSocket(url);
  } catch {
    return "refused";
  }
  try {
    const closed = new Promise<Outcome>((resolve) => {
      ws.on("error", () => {});
      ws.once("close", (code) => resolve(code === 1000 ? "accepted" : "refused"));
    });
    for (const text of Array.isArray(payload) ? payload : [payload]) ws.send(text);
    return await closed;
  } finally {
    ws.terminate();
  }
}

/** Text a client might send instead of a signaling message. */
function badSignalingText(random: Random, room: RawBootstrap | undefined): string | string[] {
  const sessionId = room?.sessionId ?? "none";
  switch (randomInt(random, 12)) {
    case 0:
      return Buffer.from(randomBytes(random, 1 + randomInt(random, 100))).toString("latin1");
    case 1:
      return pick(random, ["", "{", "[1,2", "null", "true", "42", '"join"', "{}", "[]", "\u0000"]);
    case 2:
      return JSON.stringify({ type: pick(random, ["offer", "joined", "error", "nope", 7, null, ["join"]]) });
    case 3:
      return JSON.stringify({ type: "join", sessionId: pick(random, [1, null, "", "x".repeat(300)]), token: "t" });
    case 4:
      return JSON.stringify({ type: "join", sessionId, token: Buffer.from(randomBytes(random, 32)).toString("base64url") });
    case 5:
      return JSON.stringify({ type: "join", sessionId: crypto.randomUUID(), token: "t".repeat(43) });
    case 6:
      return JSON.stringify({ type: pick(random, ["answer", "candidate", "bye"]), sdp: "v=0", candidate: null });
    case 7:
      return JSON.stringify({ type: "answer", sdp: "x".repeat(pick(random, [70_000, 140_000])) });
    case 8:
      return [JSON.stringify({ type: "join", sessionId, token: "wrong" }), JSON.stringify({ type: "join", sessionId, token: "again" })];
    case 9:
      return JSON.stringify({ type: "candidate", candidate: { candidate: 5, sdpMid: null, sdpMLineIndex: -1 } });
    case 10:
      return '{"__proto__": {"type": "join"}, "constructor": {"prototype": {"x": 1}}}';
    default:
      return JSON.stringify(Array.from({ length: 1000 }, () => ({ type: "bye" })));
  }
}

/** Keeps a signaling room pending (the endpoint exists only then) while `run` goes on. */
export async function withPendingRoom<T>(rtc: string, run: (room: () => RawBootstrap | undefined) => Promise<T>): Promise<T> {
  // From an address of its own, so that these pending sessions never crowd the attackers'.
  const fetchRoom = async () => {
    const answer = await httpGet(rtc, { localAddress: "127.0.0.3" });
    if (answer.status !== 200) throw new Error(`no signaling room: HTTP ${answer.status} ${answer.body}`);
    return JSON.parse(answer.body) as RawBootstrap;
  };
  let room = await fetchRoom();
  let stopped = false;
  // A room lives until the server's connect timeout: open a fresh one every second.
  const refreshing = (async () => {
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      if (!stopped) room = await fetchRoom().catch(() => room);
    }
  })();
  try {
    return await run(() => room);
  } finally {
    stopped = true;
    await refreshing;
  }
}

// ---- the suite --------------------------------------------------------------------------------

/** Every attack, with its tries at scale 1 (more than 10,000 in all). */
export function attacks(targets: Targets, limits: SuiteLimits, room: () => RawBootstrap | undefined): Attack[] {
  const signalingUrl = () => room()?.connection.signalingUrl ?? `${targets.rtc.replace("http", "ws")}bonito-signaling`;
  return [
    { name: "ws: random bytes", tries: 600, concurrency: 8, run: (r) => sessionTry(targets.ws, [randomBytes(r, 1 + randomInt(r, 200))]) },
    { name: "ws: mutated and truncated msgpack", tries: 800, concurrency: 8, run: (r) => sessionTry(targets.ws, [hostileFrame(r, VALID_FRAMES).bytes]) },
    {
      name: "ws: length headers that lie",
      tries: 300,
      concurrency: 8,
      run: (r) => sessionTry(targets.ws, [updateWithRawPayload(Uint8Array.of(pick(r, [0xdb, 0xc6, 0xdd, 0xdf, 0xc9]), 0x7f, 0xff, 0xff, 0xff, 1))]),
    },
    { name: "ws: deep nesting", tries: 200, concurrency: 8, run: (r) => sessionTry(targets.ws, [updateWithRawPayload(nestedArrays(65 + randomInt(r, 1_000_000)))]) },
    {
      name: "ws: object-count bombs",
      tries: 200,
      concurrency: 4,
      run: (r) => sessionTry(targets.ws, [updateWithRawPayload(r() < 0.5 ? emptyMaps(1_000_001 + randomInt(r, 8_000_000)) : objectsInPieces(16 + randomInt(r, 8), 0xffff))]),
    },
    {
      name: "ws: server-only and unknown extensions",
      tries: 400,
      concurrency: 8,
      run: (r) => sessionTry(targets.ws, [updateWithRawPayload(extension(pick(r, REFUSED_EXTENSION_TYPES), randomBytes(r, randomInt(r, 64))))]),
    },
    { name: "ws: forged session caches", tries: 100, concurrency: 8, run: () => sessionTry(targets.ws, [updateWithRawPayload(forgedSessionCache("s", "output", "forged"))]) },
    { name: "ws: text frames", tries: 100, concurrency: 8, run: (r) => sessionTry(targets.ws, [Buffer.from(randomBytes(r, 20)).toString("latin1")]) },
    { name: "ws: frames above maxFrameSize (1009)", tries: 30, concurrency: 2, run: () => sessionTry(targets.ws, [new Uint8Array(limits.maxFrameSize + 1)]) },
    { name: "ws: RFC 6455 violations", tries: 300, concurrency: 8, run: (r) => protocolBreachTry(targets.ws, r) },
    { name: "ws: unfinished messages", tries: 100, concurrency: 8, refuses: false, run: (r) => unfinishedTry(targets.ws, 1 + randomInt(r, limits.maxFrameSize - 1)) },
    {
      name: "ws: sockets without the secret, from other origins and hosts",
      tries: 600,
      concurrency: 8,
      run: async (r) => {
        const bootstrap = await fetchRawBootstrap(targets.ws);
        const url = bootstrap.connection.url!;
        const choice = randomInt(r, 4);
        const outcome =
          choice === 0
            ? await upgradeTry(url.split("?")[0]!, {})
            : choice === 1
              ? await upgradeTry(`${url.split("?")[0]}?secret=${Buffer.from(randomBytes(r, 32)).toString("base64url")}`, {})
              : choice === 2
                ? await upgradeTry(url, { origin: `https://evil${round36(r)}.example` })
                : await upgradeTry(url, { headers: { host: `evil${round36(r)}.example` } });
        // Close the session the attempt was made against, so it does not linger.
        await leave(await openSocket(url));
        return outcome;
      },
    },
    {
      name: "http: foreign Host headers",
      tries: 300,
      concurrency: 8,
      run: async (r) => ((await httpStatus(targets.ws, { headers: { host: `rebind-${round36(r)}.example` } })) === 403 ? "refused" : "accepted"),
    },
    {
      name: "wsz: compression bombs",
      tries: 25,
      concurrency: 2,
      // A few sizes past the limit, each compressed once (making a bomb costs more than refusing it).
      run: (r) => sessionTry(targets.wsz, [zeroBomb(limits.maxFrameSize * pick(r, [1.01, 1.5, 2]), pick(r, ["zlib", "gzip"] as const))], true),
    },
    {
      name: "wsz: compressed garbage and trailing bytes",
      tries: 300,
      concurrency: 8,
      run: (r) => sessionTry(targets.wsz, [pick(r, [zlibDeflate(randomBytes(r, 1 + randomInt(r, 100))), Uint8Array.of(...zlibDeflate(PING), 1, 2, 3), randomBytes(r, 50), PING])], true),
    },
    {
      name: "dc: random messages",
      tries: 30,
      concurrency: 3,
      run: (r) => channelTry(targets.rtc, () => [randomBytes(r, randomInt(r, 300))]),
    },
    {
      name: "dc: framing violations",
      tries: 100,
      concurrency: 3,
      run: (r) => channelTry(targets.rtc, (max) => framingViolation(r, limits.maxFrameSize, max)),
    },
    {
      name: "dc: hostile frames (bombs, nesting, extensions)",
      tries: 80,
      concurrency: 3,
      run: (r) => channelTry(targets.rtc, (max) => fragmentFrame(hostileFrame(r, VALID_FRAMES).bytes, Math.min(max, 64 * 1024))),
    },
    {
      name: "dc: unfinished fragments",
      tries: 20,
      concurrency: 3,
      refuses: false,
      run: (r) => channelTry(targets.rtc, (max) => Array.from({ length: 1 + randomInt(r, 20) }, () => message(DATA_MORE, new Uint8Array(Math.min(max, 65536) - 1))).concat(encodeHeartbeat()), false),
    },
    { name: "signaling: garbage messages", tries: 5000, concurrency: 8, run: (r) => signalingTry(signalingUrl(), badSignalingText(r, room())) },
    { name: "signaling: binary frames", tries: 300, concurrency: 8, run: (r) => signalingTry(signalingUrl(), randomBytes(r, 1 + randomInt(r, 64))) },
    {
      name: "http: session flood from one address (503)",
      tries: 400,
      concurrency: 16,
      run: async () => ((await httpStatus(targets.ws, { localAddress: "127.0.0.2" })) === 503 ? "refused" : "accepted"),
    },
  ];
}

function round36(random: Random): string {
  return randomInt(random, 36 ** 6).toString(36);
}

/** The outcome of one attack. */
export interface AttackResult {
  attack: string;
  /** Whether the server should refuse some of the tries (see {@link Attack.refuses}). */
  refuses: boolean;
  tries: number;
  refused: number;
  accepted: number;
  /** Tries that threw or got no answer in time. */
  failures: string[];
}

/** Runs `tries` tries of `attack`, `concurrency` at a time, each within {@link TRY_TIMEOUT_MS}. */
export async function runAttack(attack: Attack, tries: number, random: Random): Promise<AttackResult> {
  const result: AttackResult = { attack: attack.name, refuses: attack.refuses ?? true, tries, refused: 0, accepted: 0, failures: [] };
  let next = 0;
  const worker = async () => {
    while (next < tries) {
      const round = next++;
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const outcome = await Promise.race([
          attack.run(random, round),
          new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${TRY_TIMEOUT_MS} ms`)), TRY_TIMEOUT_MS))),
        ]);
        result[outcome]++;
      } catch (error) {
        result.failures.push(`try ${round}: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        clearTimeout(timer);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(attack.concurrency, tries) }, worker));
  return result;
}

