/**
 * Generators of hostile input for the fuzz and attack suites: frames a frontend could send
 * (random bytes, broken msgpack, bombs, server-only extensions) and the raw material for
 * framing and signaling violations. Deterministic: every generator takes a seeded PRNG, so a
 * failure names the seed that reproduces it.
 */
import { zlibDeflate, gzip } from "../../src/protocol/index.js";

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Random = () => number;

export function randomInt(random: Random, below: number): number {
  return Math.floor(random() * below);
}

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[randomInt(random, items.length)]!;
}

export function randomBytes(random: Random, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = randomInt(random, 256);
  return bytes;
}

const utf8 = new TextEncoder();

function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const size = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function str(text: string): Uint8Array {
  const bytes = utf8.encode(text);
  if (bytes.length > 31) throw new Error("fixstr only");
  return concat([0xa0 | bytes.length], bytes);
}

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** `{msg_type: "0", id, payload: <raw msgpack>}` assembled by hand, so the payload can be anything. */
export function updateWithRawPayload(payload: Uint8Array, id = "input"): Uint8Array {
  return concat([0x83], str("msg_type"), str("0"), str("id"), str(id), str("payload"), payload);
}

/** An array32 of `count` empty maps: one byte per object (the object-count bomb). */
export function emptyMaps(count: number): Uint8Array {
  const bytes = new Uint8Array(5 + count).fill(0x80);
  bytes.set([0xdd, ...u32(count)]);
  return bytes;
}

/** An array of `pieces` arrays of `each` empty maps: no header alone is over budget, the total is. */
export function objectsInPieces(pieces: number, each: number): Uint8Array {
  const piece = concat([0xdc, each >>> 8, each & 0xff], new Uint8Array(each).fill(0x80));
  return concat([0xdd, ...u32(pieces)], ...Array.from({ length: pieces }, () => piece));
}

/** `depth` nested one-element arrays around a nil. */
export function nestedArrays(depth: number): Uint8Array {
  return concat(new Uint8Array(depth).fill(0x91), [0xc0]);
}

/** A msgpack extension of `type` carrying `data`. */
export function extension(type: number, data: Uint8Array): Uint8Array {
  return concat([0xc9, ...u32(data.length), type & 0xff], data);
}

/** A session cache (extension 106) that would register observable `id` with `value` on the page it reaches. */
export function forgedSessionCache(sessionId: string, id: string, value: string): Uint8Array {
  const observable = extension(101, concat([0x92], str(id), str(value)));
  const objects = concat([0x91], observable);
  return extension(106, concat([0x93], str(sessionId.slice(0, 31)), str("root"), extension(0x12, objects)));
}

/** Extension types a frontend must never get accepted: server-only ones and unknown ones. */
export const REFUSED_EXTENSION_TYPES = [0, 1, 5, 0x10, 0x19, 98, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 127, -2, -128];

const bombs = new Map<string, Uint8Array>();

/** A compressed frame whose payload is `inflated` zero bytes (a compression bomb when large). Made once per size and format. */
export function zeroBomb(inflated: number, format: "zlib" | "gzip" = "zlib"): Uint8Array {
  const key = `${format} ${inflated}`;
  let bomb = bombs.get(key);
  if (!bomb) {
    const frame = updateWithRawPayload(concat([0xc6, ...u32(inflated)], new Uint8Array(inflated)));
    bomb = format === "zlib" ? zlibDeflate(frame) : gzip(frame);
    bombs.set(key, bomb);
  }
  return bomb;
}

/** One hostile frame for the protocol layer, named by what it is. */
export interface HostileFrame {
  kind: string;
  bytes: Uint8Array;
  /** Whether it is meant for a session with compression on. */
  compressed: boolean;
}

/**
 * A frame from one of the families a hostile frontend can send, chosen by `random`: random
 * bytes, mutated and truncated valid frames, length headers that lie, deep nesting, object
 * bombs, refused extensions, compression bombs and garbage after a compressed stream.
 * `valid` are well-formed frames to mutate; sizes stay small (the bombs expand, not the bytes).
 */
export function hostileFrame(random: Random, valid: readonly Uint8Array[]): HostileFrame {
  const family = randomInt(random, 10);
  switch (family) {
    case 0:
      return { kind: "random bytes", bytes: randomBytes(random, 1 + randomInt(random, 256)), compressed: random() < 0.5 };
    case 1: {
      const bytes = pick(random, valid).slice();
      for (let edits = 1 + randomInt(random, 4); edits > 0; edits--) bytes[randomInt(random, bytes.length)] = randomInt(random, 256);
      return { kind: "mutated msgpack", bytes, compressed: false };
    }
    case 2: {
      const bytes = pick(random, valid);
      return { kind: "truncated msgpack", bytes: bytes.subarray(0, randomInt(random, bytes.length)), compressed: false };
    }
    case 3: {
      // A str/bin/array/map header that announces far more than follows.
      const header = pick(random, [0xdb, 0xc6, 0xdd, 0xdf, 0xc9]);
      const bytes = updateWithRawPayload(concat([header, ...u32(0x1000_0000 + randomInt(random, 0xefff_ffff))], [0x01]));
      return { kind: "oversized length header", bytes, compressed: false };
    }
    case 4:
      return { kind: "deep nesting", bytes: updateWithRawPayload(nestedArrays(65 + randomInt(random, 100_000))), compressed: false };
    case 5:
      return random() < 0.5
        ? { kind: "object-count bomb", bytes: updateWithRawPayload(emptyMaps(1_000_001 + randomInt(random, 3_000_000))), compressed: false }
        : { kind: "object-count bomb in pieces", bytes: updateWithRawPayload(objectsInPieces(16 + randomInt(random, 16), 0xffff)), compressed: false };
    case 6: {
      const type = pick(random, REFUSED_EXTENSION_TYPES);
      return { kind: `extension ${type}`, bytes: updateWithRawPayload(extension(type, randomBytes(random, randomInt(random, 64)))), compressed: false };
    }
    case 7:
      return { kind: "forged session cache", bytes: updateWithRawPayload(forgedSessionCache("s", "output", "forged")), compressed: false };
    case 8: {
      const bytes = pick(random, valid);
      return { kind: "compressed frame, trailing garbage", bytes: concat(zlibDeflate(bytes), randomBytes(random, 1 + randomInt(random, 8))), compressed: true };
    }
    default:
      return { kind: "compressed garbage", bytes: zlibDeflate(randomBytes(random, 1 + randomInt(random, 128))), compressed: true };
  }
}
