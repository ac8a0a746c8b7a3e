/**
 * The decoder for frames from frontends: the same values as the general msgpack decoder for
 * every frame both accept, budgets (values, depth, time, inflated bytes) enforced while it
 * decodes, server-only extensions refused, and the same outcome however the work is sliced.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as msgpack from "@msgpack/msgpack";
import { BoundedDecoder, type DecodeBudget } from "../src/protocol/bounded-decoder.js";
import {
  NdArray,
  ProtocolError,
  decodeClientFrameInSlices,
  encodeClientFrame,
  gzip,
  gzipInSlices,
  pack,
  unpack,
  zlibDeflate,
  type FrameLimits,
  type SliceScheduler,
} from "../src/protocol/index.js";
import {
  REFUSED_EXTENSION_TYPES,
  emptyMaps,
  extension,
  forgedSessionCache,
  hostileFrame,
  nestedArrays,
  objectsInPieces,
  pick,
  prng,
  randomBytes,
  randomInt,
  updateWithRawPayload,
  zeroBomb,
  type Random,
} from "./helpers/hostile-inputs.js";

const MiB = 1024 * 1024;
const BUDGET: DecodeBudget = { maxObjects: 1_000_000, maxDepth: 64 };
const LIMITS: FrameLimits = { maxFrameSize: 64 * MiB, maxFrameObjects: 1_000_000, maxFrameDepth: 64, maxFrameDecodeMs: 60_000 };
/** Slices that never pause: the outcome of a decode must not depend on the clock. */
const NO_PAUSES: SliceScheduler = { now: () => 0, pause: async () => {}, sliceMs: Infinity };

function decodeWhole(bytes: Uint8Array, budget = BUDGET): unknown {
  return new BoundedDecoder(bytes, budget).decodeAll();
}

/** Decodes in steps of `units`, returning the value and the number of steps taken. */
function decodeInSteps(bytes: Uint8Array, units: number, budget = BUDGET): { value: unknown; steps: number } {
  const decoder = new BoundedDecoder(bytes, budget);
  let steps = 1;
  while (!decoder.advance(units)) steps++;
  return { value: decoder.value, steps };
}

function refuses(run: () => unknown, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

async function refusesAsync(run: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(run, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

/** A random value of everything a frontend may send. */
function randomValue(random: Random, depth = 0): unknown {
  const kind = randomInt(random, depth > 4 ? 9 : 12);
  switch (kind) {
    case 0:
      return pick(random, [null, true, false, 0, -1, 127, 128, -32, -33, 255, 256, 65535, 65536, -0x8000_0000, 2 ** 32, -(2 ** 40), 2 ** 53 - 1]);
    case 1:
      return (random() - 0.5) * 10 ** randomInt(random, 30);
    case 2:
      return pick(random, [-0, NaN, Infinity, -Infinity, Number.MIN_VALUE, 0.1]);
    case 3:
      return "ascii".repeat(randomInt(random, 10));
    case 4:
      return "grüße 👋 ".repeat(1 + randomInt(random, 40));
    case 5:
      return "x".repeat(randomInt(random, 70_000));
    case 6:
      return randomBytes(random, randomInt(random, 300));
    case 7: {
      const Ctor = pick(random, [Int8Array, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array]);
      const array = new Ctor(randomInt(random, 50));
      for (let i = 0; i < array.length; i++) array[i] = randomInt(random, 100);
      return array;
    }
    case 8:
      return new NdArray([2, 3], Float64Array.from({ length: 6 }, (_, i) => i / 7));
    case 9:
      return Array.from({ length: randomInt(random, 20) }, () => randomValue(random, depth + 1));
    case 10: {
      const map: Record<string, unknown> = {};
      for (let i = randomInt(random, 12); i > 0; i--) map[pick(random, ["a", "key", "ü", "12", "msg_type", "payload"]) + i] = randomValue(random, depth + 1);
      return map;
    }
    default:
      return new Date(randomInt(random, 2 ** 40));
  }
}

describe("bounded decoder: the same values as msgpack", () => {
  it("2,000 random values decode as the general decoder decodes them, in any step size", () => {
    const random = prng(7);
    for (let round = 0; round < 2000; round++) {
      const value = randomValue(random);
      for (const bytes of [pack(value), msgpack.encode(value)]) {
        const expected = unpack(bytes);
        assert.deepEqual(decodeWhole(bytes), expected, `round ${round}`);
        const units = pick(random, [1, 2, 7, 100]);
        assert.deepEqual(decodeInSteps(bytes, units).value, expected, `round ${round} in steps of ${units}`);
      }
    }
  });

  it("typed arrays and bin are views of the frame, as with msgpack", () => {
    const frame = pack({ f: new Float64Array([1, 2, 3]), b: new Uint8Array([4, 5]) });
    const value = decodeWhole(frame) as { f: Float64Array; b: Uint8Array };
    assert.equal(value.b.buffer, frame.buffer);
    assert.equal(Object.getPrototypeOf(value.b), Uint8Array.prototype);
    const bin = decodeWhole(Buffer.from(msgpack.encode(new Uint8Array([9])))) as Uint8Array;
    assert.equal(Object.getPrototypeOf(bin), Uint8Array.prototype, "a plain Uint8Array even from a Buffer");
  });

  it("a long string is decoded in pieces across steps, character-exact at every boundary", () => {
    const text = "€a😀".repeat(300_000);
    const bytes = pack(text);
    const { value, steps } = decodeInSteps(bytes, 1000);
    assert.equal(value, text);
    assert.ok(steps > 10, `decoded in ${steps} steps`);
  });
});

describe("bounded decoder: budgets while decoding", () => {
  it("an object-count bomb is refused from its header, before a value is built", () => {
    const decoder = new BoundedDecoder(updateWithRawPayload(emptyMaps(64 * MiB)), BUDGET);
    refuses(() => decoder.advance(1 << 20), /more than 1000000 msgpack values \(limit maxFrameObjects\)/);
    assert.ok(decoder.objectCount < 10, `refused after ${decoder.objectCount} values`);
  });

  it("objects spread over many headers are counted as they decode", () => {
    const decoder = new BoundedDecoder(updateWithRawPayload(objectsInPieces(20, 0xffff)), BUDGET);
    refuses(() => decoder.decodeAll(), /limit maxFrameObjects/);
    assert.ok(decoder.objectCount <= BUDGET.maxObjects + 1);
  });

  it("exactly the budget is accepted; one value more is not", () => {
    // The array itself is one value.
    assert.equal((decodeWhole(emptyMaps(999), { maxObjects: 1000, maxDepth: 4 }) as unknown[]).length, 999);
    refuses(() => decodeWhole(emptyMaps(1000), { maxObjects: 1000, maxDepth: 4 }), /limit maxFrameObjects/);
  });

  it("nesting deeper than maxDepth is refused; maxDepth itself is accepted", () => {
    assert.doesNotThrow(() => decodeWhole(nestedArrays(64)));
    refuses(() => decodeWhole(nestedArrays(65)), /deeper than 64 levels \(limit maxFrameDepth\)/);
    refuses(() => decodeWhole(nestedArrays(10_000_000)), /limit maxFrameDepth/);
  });

  it("length headers that announce more than the frame holds are refused before allocating", () => {
    for (const header of [[0xdd, 0x7f, 0xff, 0xff, 0xff], [0xdf, 0x7f, 0xff, 0xff, 0xff], [0xdb, 0xff, 0xff, 0xff, 0xff], [0xc6, 0xff, 0xff, 0xff, 0xff]]) {
      refuses(() => decodeWhole(Uint8Array.of(...header, 1, 2, 3)), /truncated|limit maxFrameObjects/);
    }
  });
});

describe("bounded decoder: extensions a frontend may send", () => {
  it("typed arrays, N-d arrays and timestamps are accepted", () => {
    const value = { a: new Int16Array([1, -2]), n: new NdArray([2], new Float32Array([1, 2])), d: new Date(1_700_000_000_000) };
    assert.deepEqual(decodeWhole(pack(value)), value);
  });

  it("server-only and unknown extension types are refused, each named", () => {
    for (const type of REFUSED_EXTENSION_TYPES) {
      const expected = [101, 102, 104, 105, 106, 107, 108, 109].includes(type) ? /is server-only/ : /is unknown/;
      refuses(() => decodeWhole(extension(type, Uint8Array.of(0xc0))), expected);
    }
    refuses(() => decodeWhole(forgedSessionCache("s", "output", "forged")), /extension 106 \(SessionCache\) is server-only/);
  });

  it("an N-d array payload is read under the same rules", () => {
    const inner = (payload: Uint8Array) => extension(99, payload);
    refuses(() => decodeWhole(inner(Uint8Array.of(0x92, ...extension(101, Uint8Array.of(0xc0)), 0xc0))), /server-only/);
    refuses(() => decodeWhole(inner(Uint8Array.of(0x92, 0x90, 0xc0, 0xc0))), /trailing garbage in its payload/);
    refuses(() => decodeWhole(inner(Uint8Array.of(0x92, 0x91))), /N-d array\) payload is not valid msgpack: truncated/);
    refuses(() => decodeWhole(inner(Uint8Array.of(0x92, 0x92, 1, 1, 0xc0))), /elements must be a typed array/);
    refuses(() => decodeWhole(inner(nestedArrays(70))), /limit maxFrameDepth/);
  });
});

describe("bounded decoder: garbage", () => {
  it("20,000 hostile frames throw nothing but ProtocolError, the same error in one go or in steps", () => {
    const random = prng(11);
    // A small value budget, so that the bombs are refused after as little work as in production.
    const budget: DecodeBudget = { maxObjects: 10_000, maxDepth: 64 };
    const valid = [
      encodeClientFrame({ msg_type: "11" }, false),
      encodeClientFrame({ msg_type: "0", id: "input", payload: { a: [1, 2.5, "x"], f: new Float32Array(3) } }, false),
      encodeClientFrame({ msg_type: "8", session: "s", message: "", exception: "nothing", stacktrace: "" }, false),
    ];
    let refused = 0;
    for (let round = 0; round < 20_000; round++) {
      const frame = round % 2 === 0 ? randomBytes(random, 1 + randomInt(random, 64)) : hostileFrame(random, valid).bytes;
      const outcome = (run: () => unknown): string => {
        try {
          run();
          return "ok";
        } catch (error) {
          if (!(error instanceof ProtocolError)) assert.fail(`round ${round}: ${String(error)}`);
          return error.message;
        }
      };
      const whole = outcome(() => decodeWhole(frame, budget));
      const stepped = outcome(() => decodeInSteps(frame, 1 + randomInt(random, 50), budget));
      assert.equal(stepped, whole, `round ${round}`);
      if (whole !== "ok") refused++;
    }
    assert.ok(refused > 10_000, `${refused} refused`);
  });
});

describe("frames from frontends, in slices", () => {
  it("a frame that fits in one slice never pauses", async () => {
    let pauses = 0;
    const counting: SliceScheduler = { now: () => 0, pause: async () => void pauses++, sliceMs: 5 };
    const message = await decodeClientFrameInSlices(encodeClientFrame({ msg_type: "11" }, false), false, LIMITS, counting);
    assert.deepEqual(message, { msg_type: "11" });
    assert.equal(pauses, 0);
  });

  it("a large frame pauses between slices and decodes to the same message", async () => {
    let time = 0;
    let pauses = 0;
    // Each clock reading advances 1 ms, so every few steps a 5 ms slice is over.
    const ticking: SliceScheduler = { now: () => time++, pause: async () => void pauses++, sliceMs: 5 };
    const payload = Array.from({ length: 200_000 }, (_, i) => i);
    const frame = encodeClientFrame({ msg_type: "0", id: "input", payload }, false);
    const message = await decodeClientFrameInSlices(frame, false, LIMITS, ticking);
    assert.deepEqual(message.payload, payload);
    assert.ok(pauses > 3, `${pauses} pauses`);
  });

  it("processing time beyond maxFrameDecodeMs refuses the frame (injected clock)", async () => {
    let time = 0;
    const slow: SliceScheduler = { now: () => (time += 10), pause: async () => {}, sliceMs: 5 };
    const frame = encodeClientFrame({ msg_type: "0", id: "input", payload: Array.from({ length: 100_000 }, (_, i) => i) }, false);
    await refusesAsync(() => decodeClientFrameInSlices(frame, false, { ...LIMITS, maxFrameDecodeMs: 100 }, slow), /more than 100 ms of processing .*\(limit maxFrameDecodeMs\)/);
  });

  it("a compression bomb stops at maxFrameSize, whatever the format", async () => {
    for (const format of ["zlib", "gzip"] as const) {
      const bomb = zeroBomb(8 * MiB, format);
      assert.ok(bomb.byteLength < 16 * 1024);
      await refusesAsync(() => decodeClientFrameInSlices(bomb, true, { ...LIMITS, maxFrameSize: MiB }, NO_PAUSES), /inflates past maxFrameSize \(1048576 bytes\)/);
      const accepted = await decodeClientFrameInSlices(bomb, true, { ...LIMITS, maxFrameSize: 9 * MiB }, NO_PAUSES);
      assert.equal((accepted.payload as Uint8Array).byteLength, 8 * MiB);
    }
  });

  it("a frame over maxFrameSize is refused before it is read", async () => {
    await refusesAsync(() => decodeClientFrameInSlices(new Uint8Array(MiB + 1), false, { ...LIMITS, maxFrameSize: MiB }, NO_PAUSES), /exceeds maxFrameSize/);
  });

  it("gzip members back to back are all read, even when one ends on an input step", async () => {
    const message = { msg_type: "0", id: "input", payload: "m".repeat(5000) };
    const whole = encodeClientFrame(message as never, false);
    // Find a split whose first gzip member is exactly 1024 bytes (one inflate input step).
    let first: Uint8Array | undefined;
    for (let cut = 1; cut < whole.byteLength && !first; cut++) {
      const candidate = gzip(whole.subarray(0, cut));
      if (candidate.byteLength === 1024) first = candidate;
    }
    const split = first ? first.byteLength : 0;
    const members = first ? Uint8Array.of(...first, ...gzip(whole.subarray(gunzipLength(first)))) : Uint8Array.of(...gzip(whole.subarray(0, 10)), ...gzip(whole.subarray(10)));
    const decoded = await decodeClientFrameInSlices(members, true, LIMITS, NO_PAUSES);
    assert.deepEqual(decoded, message, `first member ${split} bytes`);
  });

  it("bad compressed frames: trailing garbage, truncation, corruption, not compressed", async () => {
    const z = zlibDeflate(encodeClientFrame({ msg_type: "11" }, false));
    await refusesAsync(() => decodeClientFrameInSlices(Uint8Array.of(...z, 1, 2, 3), true, LIMITS, NO_PAUSES), /3 byte\(s\) of trailing garbage after the zlib stream/);
    await refusesAsync(() => decodeClientFrameInSlices(z.subarray(0, z.length - 2), true, LIMITS, NO_PAUSES), /corrupt or truncated/);
    await refusesAsync(() => decodeClientFrameInSlices(encodeClientFrame({ msg_type: "11" }, false), true, LIMITS, NO_PAUSES), /neither gzip nor zlib/);
    await refusesAsync(() => decodeClientFrameInSlices(z, false, LIMITS, NO_PAUSES), /looks zlib-compressed, but compression is off/);
  });
});

describe("compressing a large server frame, in slices", () => {
  it("gives the same bytes as gzip at once, pausing between slices", async () => {
    let time = 0;
    let pauses = 0;
    const ticking: SliceScheduler = { now: () => time++, pause: async () => void pauses++, sliceMs: 3 };
    const random = prng(5);
    const frame = Uint8Array.from({ length: 3 * MiB }, (_, i) => (i % 7 === 0 ? randomInt(random, 256) : i & 0xff));
    const parts = [frame.subarray(0, 1000), frame.subarray(1000)];
    assert.deepEqual(await gzipInSlices(parts, ticking), gzip(parts));
    assert.ok(pauses > 5, `${pauses} pauses`);
    assert.deepEqual(await gzipInSlices(new Uint8Array(0), ticking), gzip(new Uint8Array(0)));
  });
});

/** The length of the data `gzipped` inflates to. */
function gunzipLength(gzipped: Uint8Array): number {
  const view = new DataView(gzipped.buffer, gzipped.byteOffset, gzipped.byteLength);
  return view.getUint32(gzipped.byteLength - 4, true);
}
