/**
 * FramedChannel over two real werift peers in one process (loopback ICE,
 * SDP and candidates exchanged directly): byte-exact frames around every
 * size boundary, ordering, backpressure with bounded memory, close from
 * either side, and heartbeat detection of a peer that vanished.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { RTCDataChannel, RTCPeerConnection } from "werift";
import { FramedChannel } from "../src/webrtc/channel/framed-channel.js";
import type { FramedChannelOptions } from "../src/webrtc/channel/channel-options.js";
import { wrapWeriftChannel } from "../src/webrtc/backends/werift/port.js";
import { applyWeriftPatches } from "../src/webrtc/backends/werift/patches/index.js";
import { connectWeriftPeers, type WeriftPeers } from "./helpers/werift-peers.js";
import type { ChannelPort } from "../src/webrtc/channel/port.js";

const KiB = 1024;
const MiB = 1024 * 1024;

// ---- helpers -----------------------------------------------------------

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(size: number, seed: number): Uint8Array {
  const next = prng(seed);
  const bytes = new Uint8Array(size);
  const words = new Uint32Array(bytes.buffer, 0, size >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = (next() * 4294967296) >>> 0;
  for (let i = words.length * 4; i < size; i++) bytes[i] = (next() * 256) | 0;
  return bytes;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Rejects with a message naming `what` if `promise` takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every peer connection created, so that the after hook can close whatever a failed test left. */
const allPeers = new Set<RTCPeerConnection>();

type Peers = WeriftPeers;

/**
 * Two connected werift peers (see connectWeriftPeers). `maxMessageSize` is what each side
 * advertises in its SDP. Both get the werift workarounds, as the backend applies them.
 */
function connectPeers(maxMessageSize?: { a: number; b: number }): Promise<Peers> {
  return connectWeriftPeers({
    maxMessageSize,
    prepare: (pc) => {
      allPeers.add(pc);
      applyWeriftPatches(pc);
    },
  });
}

/**
 * A ChannelPort decorator that records, right after each send, the largest
 * bufferedAmount the port reported and the largest byte count werift itself
 * held (the port adds a per-message cost to the former).
 */
class MeasuredPort implements ChannelPort {
  peakBuffered = 0;
  peakWeriftBytes = 0;
  /** Data-channel messages sent. */
  sends = 0;
  constructor(
    private readonly inner: ChannelPort,
    private readonly dc: RTCDataChannel,
  ) {}
  send(data: Uint8Array): void {
    this.inner.send(data);
    this.sends++;
    this.peakBuffered = Math.max(this.peakBuffered, this.inner.bufferedAmount);
    this.peakWeriftBytes = Math.max(this.peakWeriftBytes, this.dc.bufferedAmount);
  }
  get bufferedAmount(): number {
    return this.inner.bufferedAmount;
  }
  get isOpen(): boolean {
    return this.inner.isOpen;
  }
  get maxMessageSize(): number {
    return this.inner.maxMessageSize;
  }
  setBufferedAmountLowThreshold(bytes: number): void {
    this.inner.setBufferedAmountLowThreshold(bytes);
  }
  onBufferedAmountLow(cb: (() => void) | null): void {
    this.inner.onBufferedAmountLow(cb);
  }
  onMessage(cb: ((data: Uint8Array) => void) | null): void {
    this.inner.onMessage(cb);
  }
  onClose(cb: (() => void) | null): void {
    this.inner.onClose(cb);
  }
  onError(cb: ((error: Error) => void) | null): void {
    this.inner.onError(cb);
  }
  close(): void {
    this.inner.close();
  }
}

/**
 * Simulates a peer that vanished (killed process, network gone): from now
 * on its SCTP packets neither leave nor arrive, and nothing says goodbye.
 * Done at the DTLS transport, below SCTP, so werift notices nothing either.
 */
function cutNetwork(pc: RTCPeerConnection): void {
  for (const transport of pc.dtlsTransports) {
    (transport as { sendData: (data: Buffer) => Promise<void> }).sendData = async () => undefined;
    transport.dataReceiver = () => undefined;
  }
}

interface Pair extends Peers {
  portA: MeasuredPort;
  portB: MeasuredPort;
  a: FramedChannel;
  b: FramedChannel;
}

async function framedPair(
  options: { a?: FramedChannelOptions; b?: FramedChannelOptions; maxMessageSize?: { a: number; b: number } } = {},
): Promise<Pair> {
  const peers = await connectPeers(options.maxMessageSize);
  const portA = new MeasuredPort(wrapWeriftChannel(peers.dcA, peers.pcA), peers.dcA);
  const portB = new MeasuredPort(wrapWeriftChannel(peers.dcB, peers.pcB), peers.dcB);
  const a = new FramedChannel(portA, options.a);
  const b = new FramedChannel(portB, options.b);
  return { ...peers, portA, portB, a, b };
}

/** Closes both channels (bounded) and both peer connections, whatever state they are in. */
async function dispose(pair: Pair | undefined): Promise<void> {
  if (!pair) return;
  await within(Promise.all([pair.a.close("test over"), pair.b.close("test over")]), 5000, "channels close").catch(
    () => undefined,
  );
  await Promise.all([pair.pcA.close(), pair.pcB.close()]);
  allPeers.delete(pair.pcA);
  allPeers.delete(pair.pcB);
}

/** Frames arriving on `channel`, taken one at a time. */
function inbox(channel: FramedChannel): { next(ms?: number): Promise<Uint8Array> } {
  const frames: Uint8Array[] = [];
  const waiters: Array<(frame: Uint8Array) => void> = [];
  channel.onFrame((frame) => {
    const waiter = waiters.shift();
    if (waiter) waiter(frame);
    else frames.push(frame);
  });
  return {
    next(ms = 30_000) {
      const frame = frames.shift();
      if (frame) return Promise.resolve(frame);
      return within(new Promise<Uint8Array>((resolve) => waiters.push(resolve)), ms, "next frame");
    },
  };
}

function mibPerSecond(bytes: number, ms: number): string {
  return (bytes / MiB / (ms / 1000)).toFixed(1);
}

after(async () => {
  await Promise.all([...allPeers].map((pc) => pc.close()));
  allPeers.clear();
});

// ---- data --------------------------------------------------------------

describe("FramedChannel over werift: data", { timeout: 240_000 }, () => {
  let pair: Pair;

  before(async () => {
    pair = await framedPair();
  });
  after(async () => {
    await dispose(pair);
  });

  it("reads the remote max-message-size that werift negotiated", () => {
    // Both sides advertised a=max-message-size:262144; each port reports the other's.
    assert.equal(pair.dcA.sctp.remoteMaxMessageSize, 256 * KiB);
    assert.equal(pair.portA.maxMessageSize, 256 * KiB);
    assert.equal(pair.portB.maxMessageSize, 256 * KiB);
  });

  it("frames around every boundary arrive byte-exact, both ways", { timeout: 120_000 }, async (t) => {
    const sizes = [0, 1, 65535, 65536, 65537, 262145, 1 * MiB, 32 * MiB];
    const atA = inbox(pair.a);
    const atB = inbox(pair.b);
    for (const size of sizes) {
      const frame = randomBytes(size, size);
      const started = performance.now();
      const [, got] = await Promise.all([pair.a.write(frame), atB.next(60_000)]);
      const ms = performance.now() - started;
      assert.ok(sameBytes(got, frame), `A→B ${size} bytes`);
      if (size >= MiB) t.diagnostic(`A→B one ${size / MiB} MiB frame: ${ms.toFixed(0)} ms, ${mibPerSecond(size, ms)} MiB/s`);
      const [, back] = await Promise.all([pair.b.write(frame), atA.next(60_000)]);
      assert.ok(sameBytes(back, frame), `B→A ${size} bytes`);
    }
    t.diagnostic(
      `peak bufferedAmount reported/werift bytes: A ${pair.portA.peakBuffered}/${pair.portA.peakWeriftBytes}, ` +
        `B ${pair.portB.peakBuffered}/${pair.portB.peakWeriftBytes}`,
    );
  });

  it("10,000 small frames arrive complete and in order", { timeout: 60_000 }, async (t) => {
    const count = 10_000;
    const next = prng(42);
    const frames = Array.from({ length: count }, (_, i) => {
      const frame = randomBytes(4 + Math.floor(next() * 200), i);
      new DataView(frame.buffer).setUint32(0, i);
      return frame;
    });
    let received = 0;
    let failure: string | null = null;
    const all = new Promise<void>((resolve) => {
      pair.b.onFrame((frame) => {
        if (failure === null && !sameBytes(frame, frames[received]!)) failure = `frame ${received} differs`;
        if (++received === count) resolve();
      });
    });
    const started = performance.now();
    // Not awaited one by one: concurrent writes must still go out in call order.
    const writes = frames.map((frame) => pair.a.write(frame));
    await within(Promise.all([...writes, all]), 50_000, "10,000 frames");
    const ms = performance.now() - started;
    assert.equal(failure, null);
    assert.equal(received, count);
    t.diagnostic(`10,000 frames (4–203 bytes) in ${ms.toFixed(0)} ms: ${(count / (ms / 1000)).toFixed(0)} frames/s`);
    pair.b.onFrame(null);
  });

  it("bursts of small frames share messages: byte-exact and in order, mixed with large frames", { timeout: 60_000 }, async (t) => {
    const next = prng(2024);
    // Three bursts written in one tick each; 1 in 100 frames is large (fragmented), the rest 64 bytes or less.
    for (let burst = 0; burst < 3; burst++) {
      const frames = Array.from({ length: 2000 }, (_, i) => {
        const size = next() < 0.01 ? 64 * KiB + Math.floor(next() * 64 * KiB) : Math.floor(next() * 65);
        return randomBytes(size, burst * 10_000 + i);
      });
      let received = 0;
      let failure: string | null = null;
      const all = new Promise<void>((resolve) => {
        pair.b.onFrame((frame) => {
          if (failure === null && !sameBytes(frame, frames[received]!)) failure = `burst ${burst}: frame ${received} differs`;
          if (++received === frames.length) resolve();
        });
      });
      const sendsBefore = pair.portA.sends;
      const started = performance.now();
      const order: number[] = [];
      const writes = frames.map((frame, i) => pair.a.write(frame).then(() => order.push(i)));
      await within(Promise.all([...writes, all]), 50_000, `burst ${burst}`);
      const ms = performance.now() - started;
      const messages = pair.portA.sends - sendsBefore;
      assert.equal(failure, null);
      assert.equal(received, frames.length);
      assert.deepEqual(order, frames.map((_, i) => i), "writes resolve in call order");
      const large = frames.filter((f) => f.length > 64 * KiB);
      const fragments = large.reduce((sum, f) => sum + Math.ceil(f.length / (64 * KiB - 1)), 0);
      // Small frames need a handful of batches between the large ones; never one message each.
      assert.ok(messages < fragments + 2 * (large.length + 1) + 20, `${messages} messages for ${frames.length} frames`);
      t.diagnostic(`burst ${burst}: ${frames.length} frames (${large.length} large) as ${messages} messages in ${ms.toFixed(0)} ms`);
    }
    pair.b.onFrame(null);
  });

  it("10,000 writes of 64 bytes in one tick", { timeout: 60_000 }, async (t) => {
    const count = 10_000;
    const frames = Array.from({ length: count }, (_, i) => {
      const frame = randomBytes(64, 50_000 + i);
      new DataView(frame.buffer).setUint32(0, i);
      return frame;
    });
    let received = 0;
    let failure: string | null = null;
    const all = new Promise<void>((resolve) => {
      pair.b.onFrame((frame) => {
        if (failure === null && !sameBytes(frame, frames[received]!)) failure = `frame ${received} differs`;
        if (++received === count) resolve();
      });
    });
    const sendsBefore = pair.portA.sends;
    const started = performance.now();
    await within(Promise.all([...frames.map((frame) => pair.a.write(frame)), all]), 50_000, "10,000 frames of 64 bytes");
    const ms = performance.now() - started;
    const messages = pair.portA.sends - sendsBefore;
    assert.equal(failure, null);
    // 65 bytes per entry, 64 KiB messages: 11 messages, plus any heartbeat.
    assert.ok(messages <= 13, `${messages} messages`);
    t.diagnostic(`10,000 frames of 64 bytes as ${messages} messages in ${ms.toFixed(0)} ms: ${(count / (ms / 1000)).toFixed(0)} frames/s`);
    pair.b.onFrame(null);
  });

  it("a 64 MiB stream under backpressure keeps bufferedAmount and memory bounded", { timeout: 120_000 }, async (t) => {
    const frameSize = 1 * MiB;
    const frameCount = 64;
    const highWaterMark = 1 * MiB; // the default
    const maxFragment = Math.min(pair.portA.maxMessageSize, 64 * KiB);
    pair.portA.peakBuffered = 0;
    pair.portA.peakWeriftBytes = 0;

    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);

    let received = 0;
    let failure: string | null = null;
    const all = new Promise<void>((resolve) => {
      pair.b.onFrame((frame) => {
        // Verify and drop: the receiver keeps nothing, so memory reflects the transport only.
        if (failure === null && !sameBytes(frame, randomBytes(frameSize, 1000 + received))) {
          failure = `frame ${received} differs`;
        }
        if (++received === frameCount) resolve();
      });
    });
    try {
      const started = performance.now();
      for (let i = 0; i < frameCount; i++) {
        // One frame at a time, generated just before it is written: the sender holds one frame.
        await pair.a.write(randomBytes(frameSize, 1000 + i));
        assert.ok(pair.dcA.bufferedAmount <= highWaterMark + maxFragment, "bounded after each write");
      }
      await within(all, 60_000, "64 MiB received");
      const ms = performance.now() - started;
      assert.equal(failure, null);
      // We only send while at or below the high-water mark, so werift never holds more than one fragment past it.
      assert.ok(
        pair.portA.peakWeriftBytes <= highWaterMark + maxFragment,
        `peak werift bufferedAmount ${pair.portA.peakWeriftBytes} > ${highWaterMark} + ${maxFragment}`,
      );
      // What the port reports adds a per-message cost (32 KiB) for the one message past the mark.
      assert.ok(pair.portA.peakBuffered <= highWaterMark + maxFragment + 64 * KiB, `reported ${pair.portA.peakBuffered}`);
      t.diagnostic(
        `64 MiB as 1 MiB frames: ${ms.toFixed(0)} ms, ${mibPerSecond(frameCount * frameSize, ms)} MiB/s; ` +
          `peak bufferedAmount ${pair.portA.peakWeriftBytes} werift bytes (${pair.portA.peakBuffered} reported ` +
          `with per-message cost; high-water mark ${highWaterMark}); RSS ${(rssBefore / MiB).toFixed(0)} MiB before, ` +
          `peak +${((rssPeak - rssBefore) / MiB).toFixed(1)} MiB, after +${((process.memoryUsage().rss - rssBefore) / MiB).toFixed(1)} MiB`,
      );
    } finally {
      clearInterval(sampler);
      pair.b.onFrame(null);
    }
  });
});

// ---- close and liveness ------------------------------------------------

describe("FramedChannel over werift: close and liveness", { timeout: 120_000 }, () => {
  for (const side of ["A", "B"] as const) {
    it(`close from ${side} reaches the other side as its CLOSE (not a timeout), and writes after close reject`, { timeout: 30_000 }, async (t) => {
      let pair: Pair | undefined;
      try {
        pair = await framedPair();
        const [closer, other] = side === "A" ? [pair.a, pair.b] : [pair.b, pair.a];
        const atOther = inbox(other);
        // A frame written just before close still arrives, before the close.
        await closer.write(Uint8Array.of(1, 2, 3));
        const started = performance.now();
        const closing = closer.close(`bye from ${side}`);
        await assert.rejects(closer.write(new Uint8Array(1)), /channel is closing/);
        const [mine, theirs] = await within(Promise.all([closer.closed, other.closed]), 5000, "both sides closed");
        const ms = performance.now() - started;
        await closing;
        assert.deepEqual(mine, { reason: `bye from ${side}`, remote: false });
        assert.deepEqual(theirs, { reason: `bye from ${side}`, remote: true });
        assert.deepEqual(await atOther.next(1000), Uint8Array.of(1, 2, 3));
        t.diagnostic(`close from ${side}: both sides closed after ${ms.toFixed(1)} ms`);
        await assert.rejects(closer.write(new Uint8Array(1)), /channel closed: bye from/);
        await assert.rejects(other.write(new Uint8Array(1)), /channel closed: bye from/);
        assert.equal(closer.isOpen, false);
        assert.equal(other.isOpen, false);
        // werift: the data channels are closed on both sides, not just ours.
        await within(
          Promise.all([pair.dcA, pair.dcB].map((dc) => (dc.readyState === "closed" ? null : new Promise((r) => dc.once("close", r))))),
          2000,
          "werift channels closed",
        );
      } finally {
        await dispose(pair);
      }
    });
  }

  const fastHeartbeat: FramedChannelOptions = { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 600 };

  it("a peer that vanishes without a word (its traffic stops) is detected by heartbeat timeout", { timeout: 30_000 }, async (t) => {
    let pair: Pair | undefined;
    try {
      pair = await framedPair({ a: fastHeartbeat, b: fastHeartbeat });
      // A killed process or a pulled cable: nothing more leaves or reaches B,
      // so no close of any kind reaches A. Dropped below SCTP, at B's DTLS transport.
      const started = performance.now();
      cutNetwork(pair.pcB);
      const [a, b] = await within(Promise.all([pair.a.closed, pair.b.closed]), 5000, "both notice the silence");
      const ms = performance.now() - started;
      assert.equal(a.reason, "heartbeat timeout: peer vanished");
      assert.ok(a.error);
      assert.equal(b.reason, "heartbeat timeout: peer vanished");
      assert.notEqual(pair.dcA.readyState, "open", "A released its channel");
      t.diagnostic(`vanished peer detected after ${ms.toFixed(0)} ms (timeout 600 ms, heartbeat 100 ms)`);
      await assert.rejects(pair.a.write(new Uint8Array(1)), /heartbeat timeout/);
    } finally {
      await dispose(pair);
    }
  });

  it("pc.close() on a wrapped connection still reaches the peer at once (the port closes the channel first)", { timeout: 30_000 }, async (t) => {
    // Bare werift: pc.close() alone sends nothing the peer sees (~30 s to "failed").
    // The port watches the connection state and closes the data channel while SCTP still runs.
    let pair: Pair | undefined;
    try {
      pair = await framedPair();
      const started = performance.now();
      await pair.pcB.close();
      const a = await within(pair.a.closed, 2000, "A notices");
      const ms = performance.now() - started;
      assert.equal(a.remote, true);
      assert.equal((await pair.b.closed).remote, true);
      t.diagnostic(`abrupt pc.close() on B seen by A after ${ms.toFixed(1)} ms`);
    } finally {
      await dispose(pair);
    }
  });

  it("a peer that sends nothing (no heartbeat) is detected; it learns why", { timeout: 30_000 }, async () => {
    let pair: Pair | undefined;
    try {
      pair = await framedPair({
        a: { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 500 },
        b: { heartbeatIntervalMs: 0, heartbeatTimeoutMs: 0 },
      });
      const [a, b] = await within(Promise.all([pair.a.closed, pair.b.closed]), 5000, "both closed");
      assert.equal(a.reason, "heartbeat timeout: peer vanished");
      assert.equal(b.reason, "heartbeat timeout: peer vanished");
      assert.equal(b.remote, true);
    } finally {
      await dispose(pair);
    }
  });

  it("an oversized frame closes both sides with the framing error as reason", { timeout: 30_000 }, async () => {
    let pair: Pair | undefined;
    try {
      pair = await framedPair({ b: { maxFrameSize: 100_000 } });
      const write = pair.a.write(new Uint8Array(300_000)).catch((error: Error) => error);
      const [a, b] = await within(Promise.all([pair.a.closed, pair.b.closed]), 5000, "both closed");
      assert.match(b.reason, /exceeds the maximum frame size of 100000 bytes/);
      assert.equal(b.error?.name, "FramingError");
      assert.match(a.reason, /exceeds the maximum frame size/);
      assert.equal(a.remote, true);
      await write;
    } finally {
      await dispose(pair);
    }
  });

  it("max-message-size 0 (unlimited) reads as Infinity; fragments stay at 64 KiB", { timeout: 30_000 }, async () => {
    let pair: Pair | undefined;
    try {
      pair = await framedPair({ maxMessageSize: { a: 64 * KiB, b: 0 } });
      assert.equal(pair.portA.maxMessageSize, Infinity);
      assert.equal(pair.portB.maxMessageSize, 64 * KiB);
      const atB = inbox(pair.b);
      const atA = inbox(pair.a);
      const frame = randomBytes(3 * MiB + 5, 77);
      const [, got] = await Promise.all([pair.a.write(frame), atB.next()]);
      assert.ok(sameBytes(got, frame));
      const [, back] = await Promise.all([pair.b.write(frame), atA.next()]);
      assert.ok(sameBytes(back, frame));
    } finally {
      await dispose(pair);
    }
  });
});
