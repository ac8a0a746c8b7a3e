/**
 * Framing (fragment / reassemble / control messages) and FramedChannel's
 * write, close and liveness logic over a scripted in-memory port.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  FramingError,
  HEADER_SIZE,
  Kind,
  MAX_CLOSE_REASON_BYTES,
  Reassembler,
  batchEntrySize,
  decodeBatch,
  decodeHeader,
  encodeBatch,
  encodeClose,
  encodeHeader,
  encodeHeartbeat,
  fragmentCount,
  fragmentFrame,
  iterateFragments,
  varintSize,
  type FrameEvent,
} from "../src/webrtc/channel/framing.js";
import { FramedChannel } from "../src/webrtc/channel/framed-channel.js";
import type { ChannelPort } from "../src/webrtc/channel/port.js";
import { InboundMessages } from "../src/webrtc/channel/inbound-messages.js";

const KiB = 1024;
const MiB = 1024 * 1024;

/** Deterministic PRNG (mulberry32), so failures reproduce. */
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

/** `size` pseudo-random bytes determined by `seed`. */
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

/** Feeds messages to a reassembler and returns the single frame they make. */
function reassemble(messages: Uint8Array[], maxFrameSize = 256 * MiB): Uint8Array {
  const reassembler = new Reassembler(maxFrameSize);
  let frame: Uint8Array | null = null;
  messages.forEach((message, i) => {
    const event = reassembler.push(message);
    if (i < messages.length - 1) assert.equal(event, null, `message ${i} must not complete a frame`);
    else if (event?.kind === "frame") frame = event.frame;
  });
  assert.ok(frame, "the last message completes the frame");
  assert.equal(reassembler.pendingBytes, 0);
  return frame;
}

/** All frames that `messages` carry, in order; control messages are skipped. */
function framesOf(messages: Uint8Array[], maxFrameSize = 256 * MiB): Uint8Array[] {
  const reassembler = new Reassembler(maxFrameSize);
  const frames: Uint8Array[] = [];
  for (const m of messages) {
    const event: FrameEvent | null = reassembler.push(m);
    if (event?.kind === "frame") frames.push(event.frame);
    else if (event?.kind === "frames") frames.push(...event.frames);
  }
  return frames;
}

function message(kind: number, payload: ArrayLike<number> = []): Uint8Array {
  return Uint8Array.from([kind, ...Array.from(payload)]);
}

describe("fragmentFrame / Reassembler round trip", () => {
  const sizes = [0, 1, 64 * KiB - 2, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, 1 * MiB, 32 * MiB];
  const maxMessageSizes = [2, 1200, 16 * KiB, 64 * KiB, 256 * KiB, Infinity];

  for (const size of sizes) {
    const frame = randomBytes(size, size + 1);
    for (const maxMessageSize of maxMessageSizes) {
      // Two-byte messages for a 32 MiB frame would be 32 million messages: pointless and slow.
      if (maxMessageSize === 2 && size > 64 * KiB + 1) continue;
      it(`${size} bytes at max message size ${maxMessageSize}`, () => {
        const messages = fragmentFrame(frame, maxMessageSize);
        assert.equal(messages.length, fragmentCount(size, maxMessageSize));
        messages.forEach((m, i) => {
          assert.ok(m.length <= maxMessageSize, `message ${i} is ${m.length} bytes`);
          assert.equal(m[0], encodeHeader(i === messages.length - 1 ? Kind.DATA_LAST : Kind.DATA_MORE));
          assert.notEqual(m.buffer, frame.buffer, "each message is a new buffer");
          if (i > 0) assert.notEqual(m.buffer, messages[i - 1]!.buffer);
        });
        // Only the last message may be short: fragments are as large as allowed.
        if (maxMessageSize !== Infinity) {
          messages.slice(0, -1).forEach((m) => assert.equal(m.length, maxMessageSize));
        }
        assert.ok(sameBytes(reassemble(messages), frame), "byte-exact");
      });
    }
  }

  it("an empty frame is one DATA_LAST message without payload", () => {
    const messages = fragmentFrame(new Uint8Array(0), 64 * KiB);
    assert.deepEqual(messages, [Uint8Array.of(encodeHeader(Kind.DATA_LAST))]);
    const event = new Reassembler(0).push(messages[0]!);
    assert.equal(event?.kind, "frame");
    assert.equal(event.kind === "frame" && event.frame.length, 0);
  });

  it("a single-message frame is a view into the message (no copy)", () => {
    const [only] = fragmentFrame(randomBytes(1000, 7), 64 * KiB);
    const event = new Reassembler(MiB).push(only!);
    assert.ok(event?.kind === "frame");
    assert.equal(event.frame.buffer, only!.buffer);
    assert.equal(event.frame.byteOffset, only!.byteOffset + 1);
  });

  it("iterateFragments creates messages lazily", () => {
    const iterator = iterateFragments(new Uint8Array(10 * MiB), 64 * KiB);
    const first = iterator.next();
    assert.equal(first.done, false);
    assert.equal(first.value!.length, 64 * KiB);
    iterator.return(undefined);
  });

  it("rejects a max message size that leaves no room for payload", () => {
    assert.throws(() => fragmentFrame(new Uint8Array(10), 1), RangeError);
    assert.throws(() => fragmentFrame(new Uint8Array(10), 0), RangeError);
    assert.throws(() => fragmentFrame(new Uint8Array(10), 1.5), RangeError);
  });

  it("seeded random frames and message sizes, with heartbeats between fragments", () => {
    const next = prng(20240601);
    const reassembler = new Reassembler(4 * MiB);
    for (let round = 0; round < 300; round++) {
      const size = Math.floor(next() ** 3 * 400 * KiB);
      const maxMessageSize = 2 + Math.floor(next() * 80 * KiB);
      const frame = randomBytes(size, round);
      const messages = fragmentFrame(frame, maxMessageSize);
      let got: Uint8Array | null = null;
      for (const m of messages) {
        if (next() < 0.05) assert.deepEqual(reassembler.push(encodeHeartbeat()), { kind: "heartbeat" });
        const event = reassembler.push(m);
        if (event?.kind === "frame") got = event.frame;
      }
      assert.ok(got && sameBytes(got, frame), `round ${round}: ${size} bytes at ${maxMessageSize}`);
    }
  });

  it("reassembles any split a peer chooses (random cut points, empty fragments)", () => {
    const next = prng(99);
    for (let round = 0; round < 200; round++) {
      const frame = randomBytes(Math.floor(next() * 200 * KiB), 1000 + round);
      const cuts = new Set<number>();
      const cutCount = Math.floor(next() * 40);
      for (let i = 0; i < cutCount; i++) cuts.add(Math.floor(next() * (frame.length + 1)));
      const points = [0, ...[...cuts].sort((x, y) => x - y), frame.length];
      const messages: Uint8Array[] = [];
      for (let i = 0; i < points.length - 1; i++) {
        const kind = i === points.length - 2 ? Kind.DATA_LAST : Kind.DATA_MORE;
        const piece = frame.subarray(points[i]!, points[i + 1]!);
        const m = new Uint8Array(1 + piece.length);
        m[0] = encodeHeader(kind);
        m.set(piece, 1);
        messages.push(m);
      }
      assert.ok(sameBytes(reassemble(messages), frame), `round ${round}`);
    }
  });
});

describe("Reassembler limits and bad input", () => {
  it("accepts a frame of exactly maxFrameSize", () => {
    const frame = randomBytes(100_000, 3);
    assert.ok(sameBytes(reassemble(fragmentFrame(frame, 1000), 100_000), frame));
    assert.ok(sameBytes(reassemble(fragmentFrame(frame, Infinity), 100_000), frame));
  });

  it("rejects an oversized frame on the fragment that crosses the cap, before keeping it", () => {
    const reassembler = new Reassembler(1000);
    assert.equal(reassembler.push(message(Kind.DATA_MORE, new Uint8Array(600))), null);
    assert.equal(reassembler.push(message(Kind.DATA_MORE, new Uint8Array(400))), null);
    assert.equal(reassembler.pendingBytes, 1000);
    assert.throws(() => reassembler.push(message(Kind.DATA_MORE, new Uint8Array(1))), (error: unknown) => {
      assert.ok(error instanceof FramingError);
      assert.match(error.message, /exceeds the maximum frame size of 1000 bytes/);
      return true;
    });
    assert.equal(reassembler.pendingBytes, 0, "nothing kept past the cap");
  });

  it("rejects an oversized single-message frame and an oversized last fragment", () => {
    assert.throws(() => new Reassembler(10).push(message(Kind.DATA_LAST, new Uint8Array(11))), FramingError);
    const reassembler = new Reassembler(10);
    reassembler.push(message(Kind.DATA_MORE, new Uint8Array(10)));
    assert.throws(() => reassembler.push(message(Kind.DATA_LAST, new Uint8Array(1))), FramingError);
  });

  it("a stream of 1 GiB announced fragments is stopped at the cap, not buffered", () => {
    const reassembler = new Reassembler(4 * MiB);
    const fragment = fragmentFrame(new Uint8Array(64 * KiB), 64 * KiB + 1)[0]!;
    fragment[0] = encodeHeader(Kind.DATA_MORE);
    let pushed = 0;
    assert.throws(() => {
      for (;;) {
        reassembler.push(fragment);
        pushed++;
      }
    }, FramingError);
    assert.equal(pushed, 64, "exactly 4 MiB accepted");
  });

  it("rejects an empty message", () => {
    assert.throws(() => new Reassembler(10).push(new Uint8Array(0)), /empty message/);
  });

  it("rejects unsupported versions", () => {
    for (const byte of [0x40 | Kind.DATA_LAST, 0x80 | Kind.HEARTBEAT, 0xc0 | Kind.CLOSE]) {
      assert.throws(() => new Reassembler(10).push(Uint8Array.of(byte)), /unsupported framing version/);
    }
  });

  it("rejects unknown and reserved kinds", () => {
    for (const kind of [0, 5, 6, 9, 42, 63]) {
      assert.throws(
        () => new Reassembler(10).push(Uint8Array.of(kind, 1, 2)),
        (error: unknown) => error instanceof FramingError && /unknown message kind/.test(error.message),
      );
    }
  });

  it("decodes the header layout: version in the top two bits, kind in the low six", () => {
    assert.deepEqual(decodeHeader(0x42), { version: 1, kind: 2 });
    assert.equal(encodeHeader(Kind.DATA_LAST), 0x02);
  });
});

describe("control messages", () => {
  it("CLOSE carries a UTF-8 reason", () => {
    const event = new Reassembler(10).push(encodeClose("bye — für jetzt 👋"));
    assert.deepEqual(event, { kind: "close", reason: "bye — für jetzt 👋" });
  });

  it("CLOSE with an empty reason", () => {
    assert.deepEqual(new Reassembler(0).push(encodeClose("")), { kind: "close", reason: "" });
  });

  it("CLOSE reasons are cut on a character boundary", () => {
    const long = encodeClose("é".repeat(1000));
    assert.equal(long.length, 1 + MAX_CLOSE_REASON_BYTES);
    const cut = encodeClose("aé€", 4); // 1 + 2 + 3 bytes; 4 allows "aé" only
    assert.deepEqual(new Reassembler(0).push(cut), { kind: "close", reason: "aé" });
  });

  it("HEARTBEAT is one byte, a new buffer each time, and its payload is ignored", () => {
    const a = encodeHeartbeat();
    const b = encodeHeartbeat();
    assert.deepEqual(a, Uint8Array.of(Kind.HEARTBEAT));
    assert.notEqual(a.buffer, b.buffer);
    assert.deepEqual(new Reassembler(0).push(message(Kind.HEARTBEAT, [1, 2, 3])), { kind: "heartbeat" });
  });

  it("control messages between fragments leave the frame intact", () => {
    const frame = randomBytes(5000, 11);
    const [first, second, third] = fragmentFrame(frame, 2000);
    const reassembler = new Reassembler(MiB);
    assert.equal(reassembler.push(first!), null);
    assert.deepEqual(reassembler.push(encodeHeartbeat()), { kind: "heartbeat" });
    assert.equal(reassembler.push(second!), null);
    const last = reassembler.push(third!);
    assert.ok(last?.kind === "frame" && sameBytes(last.frame, frame));
  });
});

describe("BATCH messages", () => {
  /** Pushes one message and returns the frames of the "frames" event it must produce. */
  function unpack(m: Uint8Array, maxFrameSize = MiB): Uint8Array[] {
    const event = new Reassembler(maxFrameSize).push(m);
    assert.ok(event?.kind === "frames", `expected a batch event, got ${event?.kind}`);
    return event.frames;
  }

  it("length prefixes are LEB128: 1 byte below 128, 2 below 16384, 3 below 2^21", () => {
    assert.deepEqual([0, 1, 127, 128, 16383, 16384, 2 ** 21 - 1, 2 ** 21, 2 ** 32 - 1].map(varintSize), [1, 1, 1, 2, 2, 3, 3, 4, 5]);
    assert.equal(batchEntrySize(64), 65);
    assert.equal(batchEntrySize(200), 202);
    // Known bytes: 300 = 0b10_0101100 → 0xac 0x02.
    const m = encodeBatch([new Uint8Array(300)]);
    assert.deepEqual([...m.subarray(0, 3)], [encodeHeader(Kind.BATCH), 0xac, 0x02]);
  });

  it("round-trips frames at the length-prefix boundaries, as views into the message", () => {
    const sizes = [0, 1, 2, 127, 128, 129, 16383, 16384, 16385, 70_000, 0];
    const frames = sizes.map((size, i) => randomBytes(size, 500 + i));
    const m = encodeBatch(frames);
    assert.equal(m.length, HEADER_SIZE + sizes.reduce((sum, size) => sum + batchEntrySize(size), 0));
    assert.equal(m[0], encodeHeader(Kind.BATCH));
    const got = unpack(m);
    assert.equal(got.length, frames.length);
    got.forEach((g, i) => {
      assert.ok(sameBytes(g, frames[i]!), `frame ${i} (${sizes[i]} bytes)`);
      assert.equal(g.buffer, m.buffer, "a view, not a copy");
    });
  });

  it("copies the frames: the caller may reuse them after encoding", () => {
    const frame = Uint8Array.of(1, 2, 3);
    const m = encodeBatch([frame, frame]);
    frame.fill(9);
    assert.deepEqual(unpack(m), [Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3)]);
  });

  it("a batch of one frame and a batch of empty frames are accepted", () => {
    assert.deepEqual(unpack(encodeBatch([Uint8Array.of(7)])), [Uint8Array.of(7)]);
    assert.deepEqual(unpack(Uint8Array.of(Kind.BATCH, 0, 0, 0)), [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)]);
  });

  it("seeded mixed streams: batches, fragmented frames and heartbeats in any order come out in order", () => {
    const next = prng(777);
    for (let round = 0; round < 50; round++) {
      const reassembler = new Reassembler(4 * MiB);
      const maxMessageSize = 64 + Math.floor(next() * 20 * KiB);
      const expected: Uint8Array[] = [];
      const messages: Uint8Array[] = [];
      let seed = round * 1000;
      while (expected.length < 200) {
        if (next() < 0.1) messages.push(encodeHeartbeat());
        if (next() < 0.3) {
          // A fragmented (or single-message) frame.
          const frame = randomBytes(Math.floor(next() ** 2 * 3 * maxMessageSize), seed++);
          expected.push(frame);
          messages.push(...fragmentFrame(frame, maxMessageSize));
        } else {
          // A batch of small frames that fits the message size.
          const batch: Uint8Array[] = [];
          let size = HEADER_SIZE;
          for (;;) {
            const frame = randomBytes(Math.floor(next() * 300), seed++);
            if (size + batchEntrySize(frame.length) > maxMessageSize) break;
            size += batchEntrySize(frame.length);
            batch.push(frame);
            if (next() < 0.05) break;
          }
          if (batch.length === 0) continue;
          const m = encodeBatch(batch);
          assert.ok(m.length <= maxMessageSize);
          expected.push(...batch);
          messages.push(m);
        }
      }
      const got: Uint8Array[] = [];
      for (const m of messages) {
        const event = reassembler.push(m);
        if (event?.kind === "frame") got.push(event.frame);
        else if (event?.kind === "frames") got.push(...event.frames);
      }
      assert.equal(got.length, expected.length, `round ${round}`);
      got.forEach((g, i) => assert.ok(sameBytes(g, expected[i]!), `round ${round}, frame ${i}`));
      assert.equal(reassembler.pendingBytes, 0);
    }
  });

  const malformed: Array<[string, number[], RegExp]> = [
    ["no entries", [], /malformed batch: no entries/],
    ["a length prefix cut off", [3, 1, 2, 3, 0x80], /length prefix cut off/],
    ["a length prefix cut off mid-way", [0x80, 0x80], /length prefix cut off/],
    ["a length prefix of 6 bytes", [0x80, 0x80, 0x80, 0x80, 0x80, 0x00], /length prefix longer than 5 bytes/],
    ["a length of 2^32", [0x80, 0x80, 0x80, 0x80, 0x10], /not below 2\^32/],
    ["an entry running past the end", [5, 1, 2, 3], /runs past the end of the message \(3 bytes left\)/],
    ["a second entry running past the end", [1, 9, 2, 1], /runs past the end/],
  ];
  for (const [what, payload, pattern] of malformed) {
    it(`rejects a batch with ${what} (FramingError)`, () => {
      const reassembler = new Reassembler(MiB);
      assert.throws(
        () => reassembler.push(Uint8Array.of(encodeHeader(Kind.BATCH), ...payload)),
        (error: unknown) => error instanceof FramingError && pattern.test(error.message),
      );
      assert.throws(() => decodeBatch(Uint8Array.from(payload), MiB), FramingError);
    });
  }

  it("rejects a batch entry larger than maxFrameSize", () => {
    const m = encodeBatch([new Uint8Array(10), new Uint8Array(11)]);
    assert.equal(unpack(m, 11).length, 2);
    assert.throws(
      () => new Reassembler(10).push(m),
      (error: unknown) => error instanceof FramingError && /maximum frame size of 10 bytes/.test(error.message),
    );
  });

  it("rejects a batch between the fragments of a frame, and drops the partial frame", () => {
    const reassembler = new Reassembler(MiB);
    const [first] = fragmentFrame(randomBytes(5000, 1), 2000);
    assert.equal(reassembler.push(first!), null);
    assert.throws(
      () => reassembler.push(encodeBatch([Uint8Array.of(1), Uint8Array.of(2)])),
      (error: unknown) => error instanceof FramingError && /batch arrived inside a fragmented frame/.test(error.message),
    );
    assert.equal(reassembler.pendingBytes, 0);
  });
});

// ---------------------------------------------------------------------------
// FramedChannel over a scripted port: deterministic checks of backpressure,
// ordering, timeouts and close, independent of any WebRTC stack.

/**
 * A ChannelPort whose buffer drains only when the test says so. Like a real
 * transport's socket, it keeps the process alive until it is closed
 * (FramedChannel's own timers are unref'd and would not).
 */
class ScriptedPort implements ChannelPort {
  private keepAlive: ReturnType<typeof setInterval> | null = setInterval(() => {}, 60_000);
  sent: Uint8Array[] = [];
  bufferedAmount = 0;
  threshold = 0;
  isOpen = true;
  maxMessageSize = 16 * KiB;
  closeCalls = 0;
  peakBuffered = 0;
  /** When true, sent data leaves the buffer at once (a fast network). */
  autoDrain = false;
  private low: (() => void) | null = null;
  private message: ((data: Uint8Array) => void) | null = null;
  private closeCb: (() => void) | null = null;
  private error: ((error: Error) => void) | null = null;

  /** When true, a CLOSE we send is answered by the peer with CLOSE_ACK (a peer that follows the handshake). */
  answersClose = true;

  send(data: Uint8Array): void {
    if (!this.isOpen) throw new Error("port closed");
    if (data.length > this.maxMessageSize) throw new Error("too big");
    this.sent.push(data);
    if (data[0] === Kind.CLOSE && this.answersClose) queueMicrotask(() => this.deliver(Uint8Array.of(Kind.CLOSE_ACK)));
    if (this.autoDrain) return;
    this.bufferedAmount += data.length;
    this.peakBuffered = Math.max(this.peakBuffered, this.bufferedAmount);
  }
  setBufferedAmountLowThreshold(bytes: number): void {
    this.threshold = bytes;
  }
  onBufferedAmountLow(cb: (() => void) | null): void {
    this.low = cb;
  }
  onMessage(cb: ((data: Uint8Array) => void) | null): void {
    this.message = cb;
  }
  onClose(cb: (() => void) | null): void {
    this.closeCb = cb;
  }
  onError(cb: ((error: Error) => void) | null): void {
    this.error = cb;
  }
  close(): void {
    this.closeCalls++;
    this.isOpen = false;
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
  }
  /** Drains the buffer (all of it by default), firing "low" on crossing the threshold. */
  drain(bytes = this.bufferedAmount): void {
    const before = this.bufferedAmount;
    this.bufferedAmount = Math.max(0, before - bytes);
    if (before > this.threshold && this.bufferedAmount <= this.threshold) this.low?.();
  }
  deliver(data: Uint8Array): void {
    this.message?.(data);
  }
  peerCloses(): void {
    this.isOpen = false;
    this.closeCb?.();
  }
  fail(error: Error): void {
    this.error?.(error);
  }
  dataMessages(): Uint8Array[] {
    return this.sent.filter((m) => m[0] === Kind.DATA_MORE || m[0] === Kind.DATA_LAST || m[0] === Kind.BATCH);
  }
  /** Every frame the sent messages carry, in order (fragments reassembled, batches unpacked). */
  sentFrames(): Uint8Array[] {
    return framesOf(this.sent);
  }
}

const quiet = { heartbeatIntervalMs: 0, heartbeatTimeoutMs: 0 };

/** Closes `channel` with the network draining freely, so close does not wait for the buffer. */
async function closeDrained(channel: FramedChannel, port: ScriptedPort): Promise<void> {
  port.drain();
  port.autoDrain = true;
  await channel.close();
}
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("FramedChannel (scripted port)", { timeout: 20_000 }, () => {
  it("fragments at the port's limit, pauses above the high-water mark, resumes on low", async () => {
    const port = new ScriptedPort();
    const channel = new FramedChannel(port, { ...quiet, highWaterMark: 64 * KiB, lowWaterMark: 16 * KiB });
    assert.equal(port.threshold, 16 * KiB);
    const frame = randomBytes(1 * MiB, 5);
    let done = false;
    const write = channel.write(frame).then(() => (done = true));
    await tick();
    assert.equal(done, false, "paused for backpressure");
    assert.ok(port.bufferedAmount > 64 * KiB && port.bufferedAmount <= 64 * KiB + 16 * KiB);
    while (!done) {
      port.drain();
      await tick();
    }
    await write;
    assert.ok(port.peakBuffered <= 64 * KiB + port.maxMessageSize, `peak ${port.peakBuffered}`);
    assert.ok(port.sent.every((m) => m.length <= 16 * KiB));
    assert.ok(sameBytes(reassemble(port.dataMessages()), frame));
    await closeDrained(channel, port);
  });

  it("never exceeds maxFragmentSize even if the peer allows more", async () => {
    const port = new ScriptedPort();
    port.maxMessageSize = Infinity;
    const channel = new FramedChannel(port, { ...quiet, maxFragmentSize: 1000, highWaterMark: 100 * MiB });
    await channel.write(randomBytes(10_000, 1));
    assert.deepEqual(port.sent.map((m) => m.length), Array(10).fill(1000).concat([11]));
    await closeDrained(channel, port);
  });

  it("serializes concurrent writes: fragments never interleave", async () => {
    const port = new ScriptedPort();
    const channel = new FramedChannel(port, { ...quiet, highWaterMark: 32 * KiB, lowWaterMark: 0 });
    const frames = [0, 1, 3, 4].map((i) => randomBytes(100 * KiB + i, i));
    const writes = frames.map((f) => channel.write(f));
    let settled = false;
    void Promise.all(writes).then(() => (settled = true));
    while (!settled) {
      port.drain();
      await tick();
    }
    const reassembler = new Reassembler(MiB);
    const got: Uint8Array[] = [];
    for (const m of port.dataMessages()) {
      const event = reassembler.push(m);
      if (event?.kind === "frame") got.push(event.frame);
    }
    assert.equal(got.length, frames.length);
    got.forEach((g, i) => assert.ok(sameBytes(g, frames[i]!), `frame ${i}`));
    await closeDrained(channel, port);
  });

  it("a burst of small writes in one tick shares BATCH messages, in order, within the size limit", async () => {
    const port = new ScriptedPort();
    port.autoDrain = true;
    port.maxMessageSize = 4 * KiB;
    const channel = new FramedChannel(port, quiet);
    const frames = Array.from({ length: 1000 }, (_, i) => randomBytes(i % 97, i));
    const order: number[] = [];
    await Promise.all(frames.map((f, i) => channel.write(f).then(() => order.push(i))));
    assert.deepEqual(order, frames.map((_, i) => i), "writes resolve in call order");
    const bytes = frames.reduce((sum, f) => sum + batchEntrySize(f.length), 0);
    assert.ok(port.sent.length <= Math.ceil(bytes / (4 * KiB - 1)) + 1, `${port.sent.length} messages for ${bytes} bytes`);
    assert.ok(port.sent.every((m) => m.length <= 4 * KiB && m[0] === Kind.BATCH));
    const got = port.sentFrames();
    assert.equal(got.length, frames.length);
    got.forEach((g, i) => assert.ok(sameBytes(g, frames[i]!), `frame ${i}`));
    await closeDrained(channel, port);
  });

  it("batches stay within maxFragmentSize when the peer allows more", async () => {
    const port = new ScriptedPort();
    port.autoDrain = true;
    port.maxMessageSize = Infinity;
    const channel = new FramedChannel(port, { ...quiet, maxFragmentSize: 1000 });
    await Promise.all(Array.from({ length: 100 }, () => channel.write(new Uint8Array(64))));
    // 15 entries of 65 bytes fit in 1000 bytes with the header (976).
    assert.deepEqual(port.sent.map((m) => m.length), [...Array(6).fill(976), 1 + 10 * 65]);
    assert.equal(port.sentFrames().length, 100);
    await closeDrained(channel, port);
  });

  it("a lone small write goes out as one DATA_LAST at once, before any timer", async () => {
    const port = new ScriptedPort();
    port.autoDrain = true;
    const channel = new FramedChannel(port, quiet);
    let timerFired = false;
    const timer = setTimeout(() => (timerFired = true), 0);
    await channel.write(Uint8Array.of(1, 2, 3));
    assert.equal(timerFired, false, "no timer between write and send");
    clearTimeout(timer);
    assert.deepEqual(port.sent, [Uint8Array.of(Kind.DATA_LAST, 1, 2, 3)]);
    // Two writes in the same tick: one batch.
    await Promise.all([channel.write(Uint8Array.of(4)), channel.write(Uint8Array.of(5, 6))]);
    assert.deepEqual(port.sent[1], Uint8Array.of(Kind.BATCH, 1, 4, 2, 5, 6));
    await closeDrained(channel, port);
  });

  it("mixed bursts: small frames batch, large frames fragment, order holds", async () => {
    const port = new ScriptedPort();
    port.autoDrain = true;
    port.maxMessageSize = 2 * KiB;
    const channel = new FramedChannel(port, quiet);
    const next = prng(4242);
    const frames = Array.from({ length: 600 }, (_, i) => randomBytes(next() < 0.1 ? Math.floor(next() * 10 * KiB) : Math.floor(next() * 100), i));
    const writes = frames.map((f) => channel.write(f));
    await Promise.all(writes);
    assert.ok(port.sent.every((m) => m.length <= 2 * KiB));
    assert.ok(port.sent.some((m) => m[0] === Kind.BATCH) && port.sent.some((m) => m[0] === Kind.DATA_MORE));
    const got = port.sentFrames();
    assert.equal(got.length, frames.length);
    got.forEach((g, i) => assert.ok(sameBytes(g, frames[i]!), `frame ${i}`));
    // A frame whose entry would not fit a batch but fits a message goes alone, unfragmented.
    port.sent = [];
    const exact = randomBytes(2 * KiB - 1, 9);
    await Promise.all([channel.write(Uint8Array.of(1)), channel.write(exact), channel.write(Uint8Array.of(2))]);
    assert.deepEqual(port.sent.map((m) => [m[0], m.length]), [
      [Kind.DATA_LAST, 2],
      [Kind.DATA_LAST, 2 * KiB],
      [Kind.DATA_LAST, 2],
    ]);
    await closeDrained(channel, port);
  });

  it("writes queued while backpressure holds the pump go out together, each resolving when sent", async () => {
    const port = new ScriptedPort();
    const channel = new FramedChannel(port, { ...quiet, highWaterMark: 1000, lowWaterMark: 0 });
    await channel.write(new Uint8Array(1500)); // fills the buffer past the mark
    const resolved: number[] = [];
    const writes = Array.from({ length: 50 }, (_, i) => channel.write(Uint8Array.of(i)).then(() => resolved.push(i)));
    await tick();
    assert.equal(port.sent.length, 1, "nothing sent above the high-water mark");
    assert.deepEqual(resolved, []);
    port.drain();
    await Promise.all(writes);
    assert.equal(port.sent.length, 2, "one batch for the 50 queued writes");
    assert.equal(port.sent[1]![0], Kind.BATCH);
    assert.deepEqual(resolved, Array.from({ length: 50 }, (_, i) => i));
    await closeDrained(channel, port);
  });

  it("a failing send rejects the writes of that batch and every later one, and ends the channel", async () => {
    const port = new ScriptedPort();
    port.autoDrain = true;
    const channel = new FramedChannel(port, quiet);
    const realSend = port.send.bind(port);
    port.send = () => {
      throw new Error("wire cut");
    };
    const batch = [channel.write(Uint8Array.of(1)), channel.write(Uint8Array.of(2))];
    for (const write of batch) await assert.rejects(write, /data channel send failed: wire cut/);
    port.send = realSend;
    const info = await channel.closed;
    assert.match(info.reason, /wire cut/);
    await assert.rejects(channel.write(Uint8Array.of(3)), /channel closed/);
  });

  it("a write that makes no progress times out and closes the channel", async () => {
    const port = new ScriptedPort();
    const channel = new FramedChannel(port, { ...quiet, highWaterMark: 1000, lowWaterMark: 0, writeTimeoutMs: 100 });
    const started = Date.now();
    await assert.rejects(channel.write(new Uint8Array(50_000)), /write timed out/);
    assert.ok(Date.now() - started >= 90);
    const info = await channel.closed;
    assert.match(info.reason, /write timed out/);
    assert.ok(info.error);
    assert.equal(port.closeCalls, 1);
  });

  it("close while a write waits: accepted writes drain first, then CLOSE is sent", async () => {
    const port = new ScriptedPort();
    const channel = new FramedChannel(port, { ...quiet, highWaterMark: 1000, lowWaterMark: 0 });
    const frame = randomBytes(40_000, 2);
    const write = channel.write(frame);
    await tick();
    const closing = channel.close("done");
    assert.equal(channel.isOpen, false);
    await assert.rejects(channel.write(new Uint8Array(1)), /channel is closing/);
    while (!(await Promise.race([closing.then(() => true), tick().then(() => false)]))) port.drain();
    await write;
    const last = port.sent.at(-1)!;
    assert.deepEqual(new Reassembler(0).push(last), { kind: "close", reason: "done" });
    assert.ok(sameBytes(reassemble(port.dataMessages()), frame));
    assert.deepEqual(await channel.closed, { reason: "done", remote: false });
    await assert.rejects(channel.write(new Uint8Array(1)), /channel closed: done/);
  });

  it("close gives up on writes that cannot drain within closeTimeoutMs", async () => {
    const port = new ScriptedPort();
    const channel = new FramedChannel(port, { ...quiet, highWaterMark: 1000, lowWaterMark: 0, closeTimeoutMs: 50 });
    const write = channel.write(new Uint8Array(40_000));
    const rejected = assert.rejects(write, /channel closed/);
    await channel.close("stuck");
    await rejected;
    assert.equal(port.closeCalls, 1);
  });

  it("close is idempotent", async () => {
    const port = new ScriptedPort();
    port.autoDrain = true;
    const channel = new FramedChannel(port, quiet);
    await Promise.all([channel.close("a"), channel.close("b"), channel.close()]);
    assert.equal((await channel.closed).reason, "a");
    assert.equal(port.closeCalls, 1);
    assert.equal(port.sent.filter((m) => m[0] === Kind.CLOSE).length, 1);
  });

  it("a peer's CLOSE: writes accepted before it still go out, then CLOSE_ACK; the channel ends when the peer closes", async () => {
    const port = new ScriptedPort();
    const handled: string[] = [];
    const channel = new FramedChannel(port, { ...quiet, highWaterMark: 1000, lowWaterMark: 0 });
    channel.onFrame((frame) => void handled.push(new TextDecoder().decode(frame)));
    const frame = randomBytes(40_000, 3);
    const write = channel.write(frame);
    port.deliver(message(Kind.DATA_LAST, new TextEncoder().encode("last words")));
    port.deliver(encodeClose("peer says bye"));
    assert.equal(channel.isOpen, false, "no new writes once the peer closed");
    await assert.rejects(channel.write(Uint8Array.of(1)), /channel is closing/);
    // `ending` settles once the peer's earlier frames are handled; the handshake goes on.
    assert.deepEqual(await channel.ending, { reason: "peer says bye", remote: true });
    assert.deepEqual(handled, ["last words"]);
    while (!port.sent.some((m) => m[0] === Kind.CLOSE_ACK)) {
      port.drain();
      await tick();
    }
    await write;
    assert.ok(sameBytes(reassemble(port.dataMessages()), frame), "the accepted write went out whole");
    assert.equal(port.sent.at(-1)![0], Kind.CLOSE_ACK, "CLOSE_ACK comes after every frame, and nothing after it");
    assert.equal(port.closeCalls, 0, "the peer closes the channel, not us");
    port.peerCloses();
    assert.deepEqual(await channel.closed, { reason: "peer says bye", remote: true });
  });

  it("closing: the port closes only on the peer's CLOSE_ACK, and frames the peer sends meanwhile are delivered", async () => {
    const port = new ScriptedPort();
    port.autoDrain = true;
    port.answersClose = false;
    const handled: number[] = [];
    const channel = new FramedChannel(port, quiet);
    channel.onFrame((frame) => void handled.push(frame[0]!));
    const closing = channel.close("done");
    assert.deepEqual(await channel.ending, { reason: "done", remote: false });
    while (!port.sent.some((m) => m[0] === Kind.CLOSE)) await tick();
    port.deliver(message(Kind.DATA_LAST, [7]));
    port.deliver(encodeBatch([Uint8Array.of(8), Uint8Array.of(9)]));
    await tick();
    assert.equal(port.closeCalls, 0, "still waiting for CLOSE_ACK");
    port.deliver(Uint8Array.of(Kind.CLOSE_ACK));
    await closing;
    assert.deepEqual(handled, [7, 8, 9]);
    assert.equal(port.closeCalls, 1);
    assert.deepEqual(await channel.closed, { reason: "done", remote: false });
  });

  it("both sides close at once: each answers the other's CLOSE with CLOSE_ACK and ends on the peer's", async () => {
    const port = new ScriptedPort();
    port.autoDrain = true;
    port.answersClose = false;
    const channel = new FramedChannel(port, quiet);
    const closing = channel.close("mine");
    while (!port.sent.some((m) => m[0] === Kind.CLOSE)) await tick();
    port.deliver(encodeClose("theirs"));
    assert.equal(port.sent.at(-1)![0], Kind.CLOSE_ACK, "their CLOSE is answered at once: ours already followed our frames");
    assert.equal(port.closeCalls, 0);
    port.deliver(Uint8Array.of(Kind.CLOSE_ACK));
    await closing;
    assert.deepEqual(await channel.closed, { reason: "mine", remote: false });
    assert.equal(port.closeCalls, 1);
  });

  it("the peer's CLOSE during our own close, before our CLOSE went out, is answered with CLOSE_ACK instead", async () => {
    const port = new ScriptedPort();
    port.answersClose = false;
    const channel = new FramedChannel(port, { ...quiet, highWaterMark: 1000, lowWaterMark: 0 });
    const write = channel.write(new Uint8Array(40_000));
    const closing = channel.close("mine");
    port.deliver(encodeClose("theirs"));
    while (!port.sent.some((m) => m[0] === Kind.CLOSE_ACK)) {
      port.drain();
      await tick();
    }
    await write;
    assert.equal(port.sent.filter((m) => m[0] === Kind.CLOSE).length, 0, "no CLOSE after the peer's");
    port.peerCloses();
    await closing;
    assert.deepEqual(await channel.closed, { reason: "mine", remote: false });
  });

  it("a closer without an answer gives up once the peer has been silent for closeTimeoutMs", async () => {
    const port = new ScriptedPort();
    port.autoDrain = true;
    port.answersClose = false;
    const channel = new FramedChannel(port, { ...quiet, closeTimeoutMs: 30 });
    await channel.close("nobody listens");
    assert.equal(port.closeCalls, 1);
    assert.equal((await channel.closed).reason, "nobody listens");
  });

  it("a CLOSE_ACK without our CLOSE ends the channel as the peer's decision", async () => {
    const port = new ScriptedPort();
    const channel = new FramedChannel(port, quiet);
    port.deliver(Uint8Array.of(Kind.CLOSE_ACK));
    const info = await channel.closed;
    assert.equal(info.remote, true);
    assert.equal(port.closeCalls, 1);
  });

  it("the port closing or failing ends the channel", async () => {
    const a = new ScriptedPort();
    const channelA = new FramedChannel(a, quiet);
    a.peerCloses();
    assert.equal((await channelA.closed).remote, true);
    const b = new ScriptedPort();
    const channelB = new FramedChannel(b, quiet);
    b.fail(new Error("boom"));
    const info = await channelB.closed;
    assert.match(info.reason, /boom/);
    assert.equal(info.error?.message, "boom");
  });

  it("an oversized inbound frame closes the channel with the FramingError, telling the peer", async () => {
    const port = new ScriptedPort();
    port.autoDrain = true;
    const channel = new FramedChannel(port, { ...quiet, maxFrameSize: 100 });
    for (const m of fragmentFrame(new Uint8Array(1000), 60)) port.deliver(m);
    const info = await channel.closed;
    assert.ok(info.error instanceof FramingError);
    assert.match(info.reason, /maximum frame size of 100 bytes/);
    const close = new Reassembler(0).push(port.sent.at(-1)!);
    assert.ok(close?.kind === "close" && /maximum frame size/.test(close.reason));
  });

  it("write rejects a frame above maxFrameSize without closing", async () => {
    const port = new ScriptedPort();
    const channel = new FramedChannel(port, { ...quiet, maxFrameSize: 100 });
    await assert.rejects(channel.write(new Uint8Array(101)), RangeError);
    assert.equal(channel.isOpen, true);
    await channel.close();
  });

  it("delivers frames in order, queues them until a handler is set, waits for async handlers", async () => {
    const port = new ScriptedPort();
    port.autoDrain = true;
    const channel = new FramedChannel(port, quiet);
    for (let i = 0; i < 5; i++) for (const m of fragmentFrame(Uint8Array.of(i, i), 2)) port.deliver(m);
    const seen: number[] = [];
    let active = 0;
    channel.onFrame(async (frame) => {
      active++;
      assert.equal(active, 1, "one at a time");
      await tick();
      seen.push(frame[0]!);
      active--;
    });
    port.deliver(fragmentFrame(Uint8Array.of(5), 100)[0]!);
    while (seen.length < 6) await tick();
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
    await channel.close();
  });

  it("a throwing frame handler closes the channel with the error", async () => {
    const port = new ScriptedPort();
    port.autoDrain = true;
    const channel = new FramedChannel(port, quiet);
    channel.onFrame(() => {
      throw new Error("handler bug");
    });
    port.deliver(fragmentFrame(Uint8Array.of(1), 100)[0]!);
    const info = await channel.closed;
    assert.match(info.reason, /frame handler failed: handler bug/);
  });

  it("sends heartbeats and closes when nothing arrives for heartbeatTimeoutMs", async (t) => {
    // Time is driven by the test: mocked timers, and the channel reads the mocked clock.
    t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"] });
    const port = new ScriptedPort();
    port.autoDrain = true;
    const channel = new FramedChannel(port, { heartbeatIntervalMs: 20, heartbeatTimeoutMs: 150 }, () => Date.now());
    // Inbound traffic every 30 ms keeps it alive well past the timeout.
    for (let i = 0; i < 10; i++) {
      t.mock.timers.tick(30);
      port.deliver(encodeHeartbeat());
    }
    assert.equal(channel.isOpen, true, "alive while the peer sends");
    assert.ok(port.sent.filter((m) => m[0] === Kind.HEARTBEAT).length >= 15, "a heartbeat every 20 ms");
    // Silence: still open just before the timeout...
    t.mock.timers.tick(149);
    assert.equal(channel.isOpen, true, "still open 149 ms into the silence");
    // ...and closed once it has passed (one more turn of the loop lets queued messages in first).
    t.mock.timers.tick(1);
    t.mock.timers.tick(0);
    assert.equal(channel.isOpen, false, "closed once 150 ms passed without a message");
    const info = await channel.closed;
    assert.equal(info.reason, "heartbeat timeout: peer vanished");
    assert.ok(info.error);
    t.mock.timers.reset();
    port.close();
  });

  it("a port that is not open gives a channel that is closed at once", async () => {
    const port = new ScriptedPort();
    port.isOpen = false;
    const channel = new FramedChannel(port);
    assert.equal(channel.isOpen, false);
    assert.match((await channel.closed).reason, /not open/);
  });

  it("rejects inconsistent options", () => {
    const port = new ScriptedPort();
    try {
      assert.throws(() => new FramedChannel(port, { lowWaterMark: 10, highWaterMark: 5 }), RangeError);
      assert.throws(() => new FramedChannel(port, { maxFragmentSize: 1 }), RangeError);
      assert.throws(() => new FramedChannel(port, { writeTimeoutMs: -1 }), RangeError);
    } finally {
      port.close();
    }
  });
});

describe("InboundMessages (a port's inbound side)", () => {
  it("holds messages while there is no callback and hands them over in order, never from inside setCallback", async () => {
    const held: number[] = [];
    const inbound = new InboundMessages(() => assert.fail("no overflow"), 1024, (bytes) => held.push(bytes));
    inbound.push(Uint8Array.of(1));
    inbound.push(Uint8Array.of(2));
    const got: number[] = [];
    inbound.setCallback((data) => got.push(data[0]!));
    assert.deepEqual(got, [], "released in a microtask, not re-entrantly");
    inbound.push(Uint8Array.of(3));
    await Promise.resolve();
    assert.deepEqual(got, [1, 2, 3], "a message arriving before the release queues behind the held ones");
    inbound.push(Uint8Array.of(4));
    assert.deepEqual(got, [1, 2, 3, 4], "afterwards, delivered at once");
    assert.deepEqual(held, [1, 2, 3, 0], "the held bytes are reported as they change");
  });

  it("pausing (null) holds again; clear drops what is held", async () => {
    const inbound = new InboundMessages(() => assert.fail("no overflow"));
    const got: number[] = [];
    inbound.setCallback((data) => got.push(data[0]!));
    inbound.setCallback(null);
    inbound.push(Uint8Array.of(1));
    inbound.clear();
    inbound.setCallback((data) => got.push(data[0]!));
    await Promise.resolve();
    assert.deepEqual(got, []);
  });

  it("refuses to hold more than its limit and drops what it held", () => {
    const errors: Error[] = [];
    const inbound = new InboundMessages((error) => errors.push(error), 10);
    inbound.push(new Uint8Array(6));
    inbound.push(new Uint8Array(6));
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /more than 10 bytes before the channel was taken into use/);
  });
});
