/**
 * The werift workarounds (src/webrtc/backends/werift/patches), against real werift peers in
 * one process on 127.0.0.1. For each workaround, a canary that the werift behaviour it works
 * around is still there (peers made with the patches turned off) and a check that the
 * workaround still does its job (peers made as the backend makes them). After a werift
 * upgrade: a failing canary means werift fixed it (drop the patch); a failing check means
 * the patch no longer fits (fix it). Then add the version to TESTED_WERIFT_VERSIONS.
 */
import { describe, it, before, after, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { classes, DtlsClient, DtlsServer, RTCDtlsTransport, RTCPeerConnection, StunProtocol, UdpTransport, type Connection, type Protocol } from "werift";
import {
  applyWeriftPatches,
  untestedWeriftMessage,
  WeriftPatchSet,
  WERIFT_PATCHES,
  WERIFT_PATCHES_ENV,
  type WeriftPatch,
} from "../src/webrtc/backends/werift/patches/index.js";
import { finishedRecordSequence } from "../src/webrtc/backends/werift/patches/dtls-record-sequence.js";
import { watchDtlsTransports } from "../src/webrtc/backends/werift/patches/dtls-transports.js";
import { UDP_SOCKET_BUFFER_BYTES, udpSocketsOf } from "../src/webrtc/backends/werift/patches/udp-buffers.js";
import { loadedWeriftVersion, TESTED_WERIFT_VERSIONS } from "../src/webrtc/backends/werift/patches/version.js";
import { forgetFallbackStunServers } from "../src/webrtc/backends/werift/patches/no-default-stun.js";
import { iceConsentPatch, isConsentRequest } from "../src/webrtc/backends/werift/patches/ice-consent.js";
import { startTurnServer, type TurnServer } from "./helpers/coturn.js";
import { spawnScript } from "./helpers/process.js";
import { connectBackendPairAlone, type BackendPair } from "./helpers/backend-pair.js";
import { within } from "./helpers/payload.js";
import { connectWeriftPeers, type WeriftPeers } from "./helpers/werift-peers.js";

// ---- peers ---------------------------------------------------------------

/**
 * Runs `create` with the werift patches turned on or off through their environment
 * variable (whatever the variable says for the rest of the process).
 */
async function withPatches<T>(on: boolean, create: () => Promise<T>): Promise<T> {
  const previous = process.env[WERIFT_PATCHES_ENV];
  if (on) delete process.env[WERIFT_PATCHES_ENV];
  else process.env[WERIFT_PATCHES_ENV] = "0";
  try {
    return await create();
  } finally {
    if (previous === undefined) delete process.env[WERIFT_PATCHES_ENV];
    else process.env[WERIFT_PATCHES_ENV] = previous;
  }
}

/**
 * Two werift peers made by the werift backend and negotiated as WebRTCConnection does
 * (through a signaling server; the answerer is the DTLS server), with or without patches.
 */
async function backendPair(t: TestContext, patched: boolean): Promise<BackendPair & { offererPc: RTCPeerConnection; answererPc: RTCPeerConnection }> {
  const pair = await withPatches(patched, () => connectBackendPairAlone(t, "werift", "werift"));
  return { ...pair, offererPc: pair.offerer.pc as unknown as RTCPeerConnection, answererPc: pair.answerer.pc as unknown as RTCPeerConnection };
}

/** Bare werift peers (see connectWeriftPeers: werift's own DTLS roles); `prepare` runs on each right after creation. */
async function rawPair(t: TestContext, prepare: (pc: RTCPeerConnection) => void): Promise<WeriftPeers> {
  return connectWeriftPeers({
    prepare: (pc) => {
      t.after(() => pc.close());
      prepare(pc);
    },
  });
}

/** The one DTLS transport of a data-channel-only werift peer. */
function dtlsTransportOf(pc: RTCPeerConnection): RTCDtlsTransport {
  const [transport] = pc.dtlsTransports;
  assert.ok(transport, "werift made a DTLS transport");
  return transport;
}

// ---- DTLS start ------------------------------------------------------------

/** One DTLS transport's start, as werift ran it in this process. */
interface DtlsStart {
  transport: RTCDtlsTransport;
  /** Its DTLS and ICE roles when it started. */
  role: string;
  iceRole: string;
  startedAt: number;
  /** Set once the first check phase of the event loop after the start has run. */
  checkPhasePassed: boolean;
  /** Calls of werift's DtlsClient.prototype.connect (each sends a first flight). */
  connects: number;
  firstFlight?: {
    at: number;
    /** Sent before the event loop's next check phase, i.e. without werift's timer. */
    withoutWait: boolean;
    /** The DTLS transports in this process that had a DtlsServer (listening) at that moment. */
    listening: Set<RTCDtlsTransport>;
  };
}

/**
 * Observes every DTLS start in this process during the test: wraps werift's
 * RTCDtlsTransport.start and DtlsClient.connect (restored after the test). The first check
 * phase after a start is the ordering marker: the patch starts its client from an
 * immediate queued inside `start`, before ours; werift's own start waits for a 100 ms timer.
 */
function observeDtlsStarts(t: TestContext): DtlsStart[] {
  const starts: DtlsStart[] = [];
  const start = RTCDtlsTransport.prototype.start;
  const connect = DtlsClient.prototype.connect;
  RTCDtlsTransport.prototype.start = function (this: RTCDtlsTransport) {
    // Synchronously: werift picks the role, enters "connecting", creates its DtlsClient or
    // DtlsServer and (client) starts its wait.
    const result = start.call(this);
    const record: DtlsStart = { transport: this, role: this.role, iceRole: this.iceTransport.role, startedAt: performance.now(), checkPhasePassed: false, connects: 0 };
    starts.push(record);
    setImmediate(() => (record.checkPhasePassed = true));
    return result;
  };
  DtlsClient.prototype.connect = function (this: DtlsClient) {
    const record = starts.find((s) => s.transport.dtls === this);
    if (record) {
      record.connects++;
      record.firstFlight ??= {
        at: performance.now(),
        withoutWait: !record.checkPhasePassed,
        listening: new Set(starts.filter((s) => s.transport.dtls instanceof DtlsServer).map((s) => s.transport)),
      };
    }
    return connect.call(this);
  };
  t.after(() => {
    RTCDtlsTransport.prototype.start = start;
    DtlsClient.prototype.connect = connect;
  });
  return starts;
}

function startOf(starts: DtlsStart[], transport: RTCDtlsTransport): DtlsStart {
  const record = starts.find((s) => s.transport === transport);
  assert.ok(record, "the transport's start was observed");
  return record;
}

describe("werift patch dtls-early-start", { timeout: 60_000 }, () => {
  it("canary: werift's DTLS client on the offering (ICE-controlling) side still waits before its first flight", async (t) => {
    const starts = observeDtlsStarts(t);
    const pair = await backendPair(t, false);
    const offerer = startOf(starts, dtlsTransportOf(pair.offererPc));
    assert.equal(offerer.role, "client");
    assert.equal(offerer.iceRole, "controlling");
    assert.ok(offerer.firstFlight, "the client sent its first flight");
    assert.equal(offerer.firstFlight.withoutWait, false, "werift started its client only after a wait (if this fails, werift no longer waits: drop the patch)");
    t.diagnostic(`patches off: first flight ${(offerer.firstFlight.at - offerer.startedAt).toFixed(0)} ms after ICE connected; setup ${pair.setupMs.toFixed(0)} ms`);
  });

  it("the offering client sends its first flight at once; a later connect joins that handshake", async (t) => {
    const starts = observeDtlsStarts(t);
    const pair = await backendPair(t, true);
    const offererTransport = dtlsTransportOf(pair.offererPc);
    const answererTransport = dtlsTransportOf(pair.answererPc);
    const offerer = startOf(starts, offererTransport);
    assert.equal(offerer.role, "client");
    assert.equal(offerer.iceRole, "controlling");
    assert.ok(offerer.firstFlight);
    assert.equal(offerer.firstFlight.withoutWait, true, "started without werift's wait");
    assert.ok(answererTransport.dtls instanceof DtlsServer, "the answerer is the DTLS server (left alone)");
    // werift's own connect, after its wait, must not send a second first flight.
    const client = offererTransport.dtls;
    assert.ok(client instanceof DtlsClient);
    await within(client.connect(), 5_000, "a later connect");
    assert.equal(offerer.connects, 1, "one handshake, one first flight");
    // Usually the answerer's server exists by then; when it does not, dtls-early-datagrams keeps the flight.
    const listening = offerer.firstFlight.listening.has(answererTransport);
    t.diagnostic(`patched: first flight ${(offerer.firstFlight.at - offerer.startedAt).toFixed(1)} ms after ICE connected (answerer's server ${listening ? "already listening" : "not yet listening"}); setup ${pair.setupMs.toFixed(0)} ms; offerer ${pair.offerer.stages.join(" ")}`);
  });

  it("a DTLS client on the controlled side (the answerer, by werift's own roles) keeps werift's wait", async (t) => {
    const starts = observeDtlsStarts(t);
    const pair = await withPatches(true, () => rawPair(t, (pc) => applyWeriftPatches(pc)));
    const answerer = startOf(starts, dtlsTransportOf(pair.pcB));
    assert.equal(answerer.role, "client");
    assert.equal(answerer.iceRole, "controlled");
    assert.ok(answerer.firstFlight);
    assert.equal(answerer.firstFlight.withoutWait, false);
    assert.equal(startOf(starts, dtlsTransportOf(pair.pcA)).role, "server");
  });
});

// ---- DTLS datagrams before the socket -------------------------------------------------

/** One datagram that reached a DTLS transport's ICE connection. */
interface Arrival {
  datagram: Buffer;
  /** Whether the transport had no DTLS socket yet when it arrived. */
  beforeSocket: boolean;
}

/** DTLS handshake type ClientHello with message_seq 0: the first flight (or its retransmission). */
function isFirstClientHello(datagram: Buffer): boolean {
  return datagram.length > 18 && datagram[0] === 22 && datagram[13] === 1 && datagram.readUInt16BE(17) === 0;
}

/**
 * Logs what reaches `pc`'s DTLS transports from ICE, from before ICE starts. When `deferStart`,
 * werift's DTLS start of those transports waits until a DTLS datagram has arrived: the
 * peer's client is then always first, the case werift loses (deterministically, not by timing).
 */
function logDtlsArrivals(t: TestContext, pc: RTCPeerConnection, deferStart: boolean): Map<RTCDtlsTransport, Arrival[]> {
  const arrivals = new Map<RTCDtlsTransport, Arrival[]>();
  const waiting = new Map<RTCDtlsTransport, () => void>();
  watchDtlsTransports(pc, (transport) => {
    if (arrivals.has(transport)) return;
    const log: Arrival[] = [];
    arrivals.set(transport, log);
    transport.iceTransport.connection.onData.subscribe((datagram) => {
      if (datagram[0]! < 20 || datagram[0]! > 63) return;
      log.push({ datagram, beforeSocket: transport.dtls === undefined });
      waiting.get(transport)?.();
    });
  });
  if (deferStart) {
    const start = RTCDtlsTransport.prototype.start;
    RTCDtlsTransport.prototype.start = function (this: RTCDtlsTransport) {
      const log = arrivals.get(this);
      if (!log || log.length > 0) return start.call(this);
      return new Promise<void>((resolve) => waiting.set(this, resolve)).then(() => {
        waiting.delete(this);
        return start.call(this);
      });
    };
    t.after(() => {
      RTCDtlsTransport.prototype.start = start;
    });
  }
  return arrivals;
}

describe("werift patch dtls-early-datagrams", { timeout: 60_000 }, () => {
  it("canary: werift drops a DTLS datagram that arrives before its DTLS socket exists (the client must retransmit)", async (t) => {
    let arrivals!: Map<RTCDtlsTransport, Arrival[]>;
    // werift's own roles: the offerer (ICE-controlling) is the DTLS server; its start waits for the client's first flight.
    const pair = await withPatches(false, () => rawPair(t, (pc) => void (arrivals ??= logDtlsArrivals(t, pc, true))));
    const server = dtlsTransportOf(pair.pcA);
    assert.ok(server.dtls instanceof DtlsServer);
    const log = arrivals.get(server)!;
    assert.equal(log[0]?.beforeSocket, true, "the first flight arrived before the server existed");
    assert.ok(isFirstClientHello(log[0].datagram));
    const hellos = log.filter((a) => isFirstClientHello(a.datagram));
    assert.ok(hellos.length >= 2, `the client had to send its first ClientHello again (${hellos.length} arrived)`);
    assert.ok(!log.slice(1).some((a) => a.datagram === log[0]!.datagram), "the early datagram was never delivered again");
  });

  it("with the patch, that datagram reaches the DTLS socket as soon as it exists", async (t) => {
    let arrivals!: Map<RTCDtlsTransport, Arrival[]>;
    const pair = await withPatches(true, () =>
      rawPair(t, (pc) => {
        arrivals ??= logDtlsArrivals(t, pc, true);
        applyWeriftPatches(pc);
      }),
    );
    const server = dtlsTransportOf(pair.pcA);
    assert.ok(server.dtls instanceof DtlsServer);
    const log = arrivals.get(server)!;
    const early = log[0];
    assert.ok(early?.beforeSocket && isFirstClientHello(early.datagram), "the first flight arrived before the server existed");
    const again = log.findIndex((a, i) => i > 0 && a.datagram === early.datagram);
    assert.ok(again > 0, "the same datagram was delivered again");
    assert.equal(log[again]!.beforeSocket, false, "after the server existed");
    assert.ok(log.slice(1, again).every((a) => a.beforeSocket), "before anything that arrived later");
    const hellos = log.filter((a) => isFirstClientHello(a.datagram) && a.datagram !== early.datagram);
    t.diagnostic(`first ClientHello retransmissions: ${hellos.length}`);
  });
});

// ---- DTLS record numbers ------------------------------------------------------

/** A DTLS record header (13 bytes) followed by `length` zero bytes. */
function record(type: number, epoch: number, sequence: number, length = 3): Buffer {
  const buf = Buffer.alloc(13 + length);
  buf[0] = type;
  buf.writeUInt16BE(0xfefd, 1);
  buf.writeUInt16BE(epoch, 3);
  buf.writeUIntBE(sequence, 5, 6);
  buf.writeUInt16BE(length, 11);
  return buf;
}

/** What one side's DTLS record layer did from the moment its handshake completed. */
interface RecordLog {
  /** The Finished record's sequence number and the record counter at "connected". */
  finished?: number;
  counterAtConnected?: number;
  /** The sequence number of each record sent after "connected". */
  sent: number[];
}

/**
 * Logs, for `pc`'s DTLS transport, the Finished record's number and every record number
 * sent after the handshake completed. Installed right after creation (before any patch),
 * so it sees the counter as werift left it.
 */
function logRecords(pc: RTCPeerConnection): RecordLog {
  const log: RecordLog = { sent: [] };
  watchDtlsTransports(pc, (transport, state) => {
    const socket = transport.dtls;
    if (state !== "connected" || !socket || log.finished !== undefined) return;
    const context = socket.dtls;
    log.finished = finishedRecordSequence(context.lastMessage);
    log.counterAtConnected = context.recordSequenceNumber;
    const send = socket.send;
    socket.send = (buf, addr) => {
      const result = send(buf, addr);
      log.sent.push(context.recordSequenceNumber);
      return result;
    };
  });
  return log;
}

/** Sends messages both ways until both sides' record counters have passed their Finished's number. */
async function exchangeMessages(pair: WeriftPeers, logs: [RecordLog, RecordLog]): Promise<void> {
  for (let round = 0; round < 20; round++) {
    if (logs.every((log) => log.finished !== undefined && log.sent.length > 0 && log.sent.at(-1)! > log.finished)) return;
    for (const [from, to] of [[pair.dcA, pair.dcB], [pair.dcB, pair.dcA]] as const) {
      const arrived = new Promise<void>((resolve) => to.once("message", () => resolve()));
      from.send(Buffer.from(`round ${round}`));
      await within(arrived, 5_000, "a message");
    }
  }
  assert.fail(`record counters did not pass the Finished's number: ${JSON.stringify(logs)}`);
}

describe("werift patch dtls-record-sequence", { timeout: 60_000 }, () => {
  it("finishedRecordSequence reads the highest epoch-1 record number of a flight", () => {
    // Client flight 5: three handshake records and a ChangeCipherSpec in epoch 0, Finished in epoch 1.
    const flight = [Buffer.concat([record(22, 0, 2), record(22, 0, 3, 300)]), record(22, 0, 4), record(20, 0, 5, 1), record(22, 1, 6, 40)];
    assert.equal(finishedRecordSequence(flight), 6);
    assert.equal(finishedRecordSequence([Buffer.concat([record(20, 0, 7, 1), record(22, 1, 2 ** 40 + 8)])]), 2 ** 40 + 8);
    assert.equal(finishedRecordSequence([record(22, 0, 3)]), undefined, "no epoch-1 record");
    assert.equal(finishedRecordSequence([]), undefined);
    assert.equal(finishedRecordSequence(undefined), undefined);
    assert.equal(finishedRecordSequence(["not a buffer", Buffer.alloc(5)] as never), undefined, "junk is ignored");
  });

  it("canary: werift still numbers early application records with its Finished record's number", async (t) => {
    const logs: RecordLog[] = [];
    const pair = await rawPair(t, (pc) => void logs.push(logRecords(pc)));
    await exchangeMessages(pair, logs as [RecordLog, RecordLog]);
    for (const [name, log] of [["offerer", logs[0]!], ["answerer", logs[1]!]] as const) {
      assert.ok(log.finished !== undefined && log.counterAtConnected !== undefined, `${name}: werift kept its Finished flight`);
      assert.ok(log.counterAtConnected < log.finished, `${name}: counter ${log.counterAtConnected} reset below the Finished's ${log.finished}`);
      assert.ok(log.sent.includes(log.finished), `${name}: a later record reused ${log.finished} (sent ${log.sent.join(",")})`);
    }
  });

  it("with the patch, no record after the handshake reuses the Finished's number (browsers drop such a record as a replay)", async (t) => {
    const logs: RecordLog[] = [];
    const pair = await withPatches(true, () =>
      rawPair(t, (pc) => {
        logs.push(logRecords(pc));
        applyWeriftPatches(pc);
      }),
    );
    await exchangeMessages(pair, logs as [RecordLog, RecordLog]);
    for (const [name, log] of [["offerer", logs[0]!], ["answerer", logs[1]!]] as const) {
      const finished = log.finished;
      assert.ok(finished !== undefined, `${name}: werift kept its Finished flight`);
      assert.ok(log.sent.length > 0);
      assert.ok(log.sent.every((sequence, i) => sequence > finished && (i === 0 || sequence > log.sent[i - 1]!)), `${name}: ${log.sent.join(",")} after ${finished}`);
    }
  });
});

// ---- UDP buffers ------------------------------------------------------------

/** The kernel's cap on a socket buffer that a process may request (Linux), or null elsewhere. */
function sysctlBytes(name: "rmem_max" | "wmem_max"): number | null {
  try {
    return Number(readFileSync(`/proc/sys/net/core/${name}`, "utf8").trim());
  } catch {
    return null;
  }
}

/** A fresh UDP socket's buffer sizes: the kernel's defaults. */
async function defaultUdpBufferSizes(): Promise<{ recv: number; send: number }> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  try {
    return { recv: socket.getRecvBufferSize(), send: socket.getSendBufferSize() };
  } finally {
    socket.close();
  }
}

/** The socket of the candidate pair ICE selected: the one that carries the data. */
function selectedSocket(pc: RTCPeerConnection) {
  const protocol = pc.iceTransports[0]?.connection.nominated?.protocol;
  assert.ok(protocol instanceof StunProtocol, "a host (STUN protocol) pair was selected");
  assert.ok(protocol.transport instanceof UdpTransport);
  return protocol.transport.socket;
}

describe("werift patch udp-buffers", { timeout: 60_000 }, () => {
  it("canary: werift leaves its UDP sockets at the kernel's default buffer sizes", async (t) => {
    const defaults = await defaultUdpBufferSizes();
    const pair = await backendPair(t, false);
    for (const pc of [pair.offererPc, pair.answererPc]) {
      const socket = selectedSocket(pc);
      assert.equal(socket.getRecvBufferSize(), defaults.recv);
      assert.equal(socket.getSendBufferSize(), defaults.send);
    }
    t.diagnostic(`kernel defaults: receive ${defaults.recv} B, send ${defaults.send} B`);
  });

  it("with the patch, every UDP socket of a pair gets 4 MiB buffers once connected (as far as the kernel allows)", async (t) => {
    const pair = await backendPair(t, true);
    const rmemMax = sysctlBytes("rmem_max");
    const wmemMax = sysctlBytes("wmem_max");
    for (const pc of [pair.offererPc, pair.answererPc]) {
      const sockets = udpSocketsOf(pc);
      assert.ok(sockets.includes(selectedSocket(pc)), "the selected pair's socket is among them");
      for (const socket of sockets) {
        // Linux reports twice the size granted (the kernel's bookkeeping share), capped by the sysctl.
        const recv = socket.getRecvBufferSize();
        const send = socket.getSendBufferSize();
        t.diagnostic(`receive buffer ${recv} B, send buffer ${send} B (rmem_max ${rmemMax}, wmem_max ${wmemMax})`);
        if (rmemMax !== null) assert.equal(recv, 2 * Math.min(UDP_SOCKET_BUFFER_BYTES, rmemMax));
        if (wmemMax !== null) assert.equal(send, 2 * Math.min(UDP_SOCKET_BUFFER_BYTES, wmemMax));
      }
    }
  });
});

// ---- ICE consent --------------------------------------------------------------

/** The STUN/TCP protocols of `pc`'s candidate pairs, each once. */
function iceProtocolsOf(pc: RTCPeerConnection): Protocol[] {
  const connection = iceConnectionOf(pc);
  return [...new Set([...connection.checkList, connection.nominated].flatMap((pair) => (pair ? [pair.protocol] : [])))];
}

/**
 * Two bare werift peers (the patch on both, or on neither) where B holds back every STUN
 * answer it sends until `release()`, and A's consent requests are recorded in order with
 * how each ended. Stands for a process that reads its socket late (a loaded CPU, a full
 * receive buffer): the answers exist, they just arrive late.
 */
async function peersWithLateConsentAnswers(t: TestContext, patched: boolean) {
  const peers = await rawPair(t, (pc) => {
    if (patched) iceConsentPatch.apply(pc);
  });
  const held: Array<() => void> = [];
  let holding = true;
  for (const protocol of iceProtocolsOf(peers.pcB)) {
    const sendStun = protocol.sendStun.bind(protocol);
    protocol.sendStun = (message, addr) => {
      if (!holding || message.messageClass !== classes.RESPONSE) return sendStun(message, addr);
      held.push(() => void sendStun(message, addr).catch(() => {}));
      return Promise.resolve();
    };
  }
  const outcomes: Array<Promise<string>> = [];
  const sent: Array<() => void> = [];
  for (const protocol of iceProtocolsOf(peers.pcA)) {
    const request = protocol.request;
    protocol.request = (message, addr, integrityKey, options, onRequestSent) => {
      const answer = request.call(protocol, message, addr, integrityKey, options, onRequestSent);
      if (isConsentRequest(options)) {
        outcomes.push(answer.then(() => "answered", (error: Error) => `gave up: ${error.constructor.name}`));
        sent.shift()?.();
      }
      return answer;
    };
  }
  return {
    pcA: peers.pcA,
    /** Resolves when A has sent its `n`th consent request (1-based). */
    consentRequestSent(n: number): Promise<void> {
      return new Promise((resolve) => {
        const check = () => (outcomes.length >= n ? resolve() : sent.push(check));
        check();
      });
    },
    /** How A's `n`th consent request ended (once it was sent). */
    outcome: (n: number): Promise<string> => outcomes[n - 1]!,
    release() {
      holding = false;
      for (const send of held.splice(0)) send();
    },
  };
}

describe("werift patch ice-consent", { timeout: 60_000 }, () => {
  it("canary: werift gives up on a consent answer it has not read within its short response timeout", async (t) => {
    const peers = await peersWithLateConsentAnswers(t, false);
    await within(peers.consentRequestSent(1), 15_000, "A's first consent request");
    assert.equal(await within(peers.outcome(1), 15_000, "the first consent request ends"), "gave up: TransactionTimeout");
    peers.release();
  });

  it("with the patch, an answer read only after the next consent request went out still renews consent", async (t) => {
    const peers = await peersWithLateConsentAnswers(t, true);
    await within(peers.consentRequestSent(2), 20_000, "A's second consent request");
    peers.release();
    assert.equal(await within(peers.outcome(1), 15_000, "the first consent request ends"), "answered");
    assert.equal(peers.pcA.iceConnectionState, "connected");
  });
});

// ---- STUN fallback ------------------------------------------------------------

/** werift's ICE connection of a data-channel-only peer (made by createDataChannel). */
function iceConnectionOf(pc: RTCPeerConnection): Connection {
  const [transport] = pc.iceTransports;
  assert.ok(transport, "werift made an ICE transport");
  return transport.connection as Connection;
}

describe("werift patch no-default-stun", { timeout: 30_000 }, () => {
  it("canary: werift still falls back to a public STUN server when none is configured", (t) => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    t.after(() => pc.close());
    pc.createDataChannel("bonito");
    assert.deepEqual(iceConnectionOf(pc).stunServer, ["stun.l.google.com", 19302]);
  });

  it("with the patch, gathering knows no STUN server unless one was configured", async (t) => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    t.after(() => pc.close());
    await withPatches(true, async () => applyWeriftPatches(pc));
    pc.createDataChannel("bonito");
    await pc.setLocalDescription(await pc.createOffer());
    assert.equal(iceConnectionOf(pc).stunServer, undefined);
    // A configured one stays.
    const configured = new RTCPeerConnection({ iceServers: [{ urls: "stun:127.0.0.1:3478" }] });
    t.after(() => configured.close());
    configured.createDataChannel("bonito");
    forgetFallbackStunServers(configured);
    assert.deepEqual(iceConnectionOf(configured).stunServer, ["127.0.0.1", 3478]);
  });
});

// ---- TURN allocations ------------------------------------------------------------

describe("werift patch turn-allocation", { timeout: 60_000 }, () => {
  let granting: TurnServer;
  let refusing: TurnServer;
  before(async () => {
    granting = await startTurnServer();
    refusing = await startTurnServer({ refuseAllocations: true });
  });
  after(async () => {
    await granting?.stop();
    await refusing?.stop();
  });

  /** Run the fixture against `turn`; resolves with its exit code and how many relayed candidates it gathered. */
  async function gatherAndClose(turn: TurnServer, patched: boolean): Promise<{ code: number | null; relayed: number }> {
    const { urls, username, credential } = turn.iceServer();
    const child = spawnScript(fileURLToPath(new URL("./fixtures/werift-turn-exit.js", import.meta.url)), [urls, username, credential], patched ? {} : { [WERIFT_PATCHES_ENV]: "0" });
    const exited = new Promise<number | null>((resolve) => child.process.once("exit", (code) => resolve(code)));
    const relayed = Number((await child.waitFor(/^GATHERED (\d+)/, 30_000))[1]);
    return { code: await within(exited, 10_000, "the fixture exits"), relayed };
  }

  it("canary: a process whose werift used a relay stays alive after closing (the refresh timer holds it)", async () => {
    assert.deepEqual(await gatherAndClose(granting, false), { code: 3, relayed: 1 });
  });

  it("canary: a refused allocation leaves its socket open and the process alive", async () => {
    assert.deepEqual(await gatherAndClose(refusing, false), { code: 3, relayed: 0 });
  });

  it("with the patch, the process ends by itself after a granted and after a refused allocation", async () => {
    assert.deepEqual(await gatherAndClose(granting, true), { code: 0, relayed: 1 });
    assert.deepEqual(await gatherAndClose(refusing, true), { code: 0, relayed: 0 });
  });
});

// ---- applyWeriftPatches ---------------------------------------------------------

/** A logger that keeps what it is given. */
function recordingLogger() {
  const warnings: string[] = [];
  const errors: string[] = [];
  return { warnings, errors, logger: { warn: (...args: unknown[]) => warnings.push(args.join(" ")), error: (...args: unknown[]) => errors.push(args.join(" ")) } };
}

describe("applyWeriftPatches", () => {
  it("the loaded werift is one the patches were tested with, and each patch finds what it needs", () => {
    const manifest = JSON.parse(readFileSync(new URL("../../node_modules/werift/package.json", import.meta.url), "utf8")) as { version: string };
    assert.equal(loadedWeriftVersion(), manifest.version);
    assert.ok(TESTED_WERIFT_VERSIONS.includes(manifest.version), `werift ${manifest.version} is listed as tested`);
    for (const patch of WERIFT_PATCHES) assert.deepEqual(patch.missing(), [], patch.name);
  });

  it("applies every patch without a word; the environment variable turns them all off", async (t) => {
    const { warnings, errors, logger } = recordingLogger();
    const pc = new RTCPeerConnection({ iceServers: [] });
    t.after(() => pc.close());
    assert.deepEqual(await withPatches(true, async () => applyWeriftPatches(pc, { logger })), ["dtls-record-sequence", "udp-buffers", "dtls-early-datagrams", "dtls-early-start", "no-default-stun", "turn-allocation", "ice-consent"]);
    const off = new RTCPeerConnection({ iceServers: [] });
    t.after(() => off.close());
    assert.deepEqual(await withPatches(false, async () => applyWeriftPatches(off, { logger })), []);
    assert.deepEqual([...warnings, ...errors], []);
  });

  it("an untested werift: one warning per process naming both versions; patches whose preconditions fail are skipped", async (t) => {
    const { warnings, logger } = recordingLogger();
    let checks = 0;
    const needsSomethingGone: WeriftPatch = {
      name: "needs-something-gone",
      missing: () => (checks++, ["DtlsClient.somethingGone"]),
      apply: () => assert.fail("a patch whose precondition fails must not be applied"),
    };
    const set = new WeriftPatchSet([WERIFT_PATCHES[0]!, needsSomethingGone], { tested: ["0.24.4"], loadedVersion: () => "0.99.0" });
    for (let i = 0; i < 3; i++) {
      const pc = new RTCPeerConnection({ iceServers: [] });
      t.after(() => pc.close());
      assert.deepEqual(set.apply(pc, logger, {}), ["dtls-record-sequence"]);
    }
    assert.equal(checks, 1, "preconditions are checked once");
    assert.deepEqual(warnings, [untestedWeriftMessage("0.99.0", ["0.24.4"], ["dtls-record-sequence"], ["needs-something-gone (werift lacks DtlsClient.somethingGone)"])]);
    assert.match(warnings[0]!, /werift 0\.99\.0 is loaded; .* tested with 0\.24\.4\. Applying dtls-record-sequence; skipping needs-something-gone \(werift lacks DtlsClient\.somethingGone\)\. Set BONITO_WERIFT_PATCHES=0 to apply none\./);
    // An unreadable version counts as untested.
    const unknown = recordingLogger();
    const pc = new RTCPeerConnection({ iceServers: [] });
    t.after(() => pc.close());
    new WeriftPatchSet([WERIFT_PATCHES[0]!], { tested: ["0.24.4"], loadedVersion: () => undefined }).apply(pc, unknown.logger, {});
    assert.match(unknown.warnings.join("\n"), /a werift of unknown version is loaded/);
  });
});
