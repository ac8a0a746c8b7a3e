/**
 * Whole frames, as Bonito v5 puts them on the transport: one message per frame.
 *
 * Server → frontend: msgpack extension 107 (SerializedMessage)
 *   [session_id, "root"|"sub", ext 0x12(msgpack ext 106 SessionCache), ext 0x12(msgpack message)],
 * gzip-compressed when the session has compression on (Julia `serialize_binary`).
 * Frontend → server: msgpack of the plain message map, zlib-compressed (`Pako.deflate`) when
 * on (Bonito's JS `encode_binary`).
 *
 * Compression is not detected, exactly as in Bonito: with it on, a frame must inflate (gzip or
 * zlib, either side); with it off, a compressed frame is not msgpack and is rejected (the error
 * then says it looks compressed, the usual cause being a mismatched setting).
 */
import {
  ExtData,
  concatBytes,
  decodeContext,
  decodeSerializedMessage,
  pack,
  packPieces,
  plainBytes,
  unpackPlain,
} from "./extensions.js";
import {
  DEFAULT_MAX_FRAME_DECODE_MS,
  DEFAULT_MAX_FRAME_DEPTH,
  DEFAULT_MAX_FRAME_OBJECTS,
  DEFAULT_MAX_FRAME_SIZE,
} from "../core/constants.js";
import { BoundedDecoder } from "./bounded-decoder.js";
import { Inflater, compressionFormat, gzip, inflate, zlibDeflate } from "./compression.js";
import { Slices, defaultSliceScheduler, type SliceHooks, type SliceScheduler } from "./slices.js";
import {
  ProtocolError,
  SerializedMessage,
  SessionCache,
  describeValue,
  validateMessage,
  type BonitoMessage,
  type SessionType,
} from "./messages.js";

/** Options for {@link encodeServerFrame}. */
export interface ServerFrameOptions {
  /** "sub" for a subsession's messages; default "root". */
  sessionType?: SessionType;
  /** Objects for the frame's SessionCache (Bonito: observables first sent by this message); default none. */
  cache?: readonly unknown[];
}

/**
 * The budgets a frame is decoded under. Frames from frontends are checked against all of
 * them while they decode; frames from the server (decoded by frontends) only against
 * `maxFrameSize`.
 */
export interface FrameLimits {
  /** Largest frame in bytes, both as received and once inflated. */
  maxFrameSize: number;
  /** Most msgpack values (scalars, strings, arrays, maps, keys, extensions) in one frame. */
  maxFrameObjects: number;
  /** Deepest nesting of arrays, maps and extension payloads in one frame. */
  maxFrameDepth: number;
  /** Most processing time one frame may take to inflate and decode, in ms (sliced decoding only). */
  maxFrameDecodeMs: number;
}

/** Options for the decoders: any {@link FrameLimits} left out takes its default. */
export type DecodeOptions = Partial<FrameLimits>;

/** The limits in `options`, completed with the defaults. */
export function frameLimits(options: DecodeOptions = {}): FrameLimits {
  return {
    maxFrameSize: options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
    maxFrameObjects: options.maxFrameObjects ?? DEFAULT_MAX_FRAME_OBJECTS,
    maxFrameDepth: options.maxFrameDepth ?? DEFAULT_MAX_FRAME_DEPTH,
    maxFrameDecodeMs: options.maxFrameDecodeMs ?? DEFAULT_MAX_FRAME_DECODE_MS,
  };
}

/** A decoded server frame with its envelope: what Bonito's JS registers before processing the message. */
export interface ServerFrame {
  sessionId: string;
  sessionType: SessionType;
  /** The frame's own cache first, then those of envelopes nested in the message, in wire order. */
  caches: SessionCache[];
  message: BonitoMessage;
}

/** A decoded initial frame: the messages a frontend runs before it reports the session loaded. */
export interface InitFrame {
  sessionId: string;
  sessionType: SessionType;
  /** The frame's own cache first, then those of envelopes nested in the messages, in wire order. */
  caches: SessionCache[];
  messages: BonitoMessage[];
}

/** Server frames write numbers as Julia does: -0 keeps its sign. */
const SERVER_NUMBERS = { signedZero: true } as const;

/** Largest payload one msgpack extension can hold (ext 32 has a 32-bit length). */
const MAX_EXT_BYTES = 0xffffffff;

/**
 * The msgpack header of an extension of `size` bytes: the shortest form (fixext for 1, 2, 4, 8
 * and 16 bytes, as msgpack-javascript and MsgPack.jl write), or ext 32 when `wide`, so that
 * its length is known before the size is.
 */
function extHeader(type: number, size: number, wide = false): Uint8Array {
  if (size > MAX_EXT_BYTES) throw new ProtocolError(`frame too large: ${size} bytes do not fit in one msgpack extension`);
  if (!wide) {
    const fixext = [1, 2, 4, 8, 16].indexOf(size);
    if (fixext >= 0) return Uint8Array.of(0xd4 + fixext, type);
    if (size < 0x100) return Uint8Array.of(0xc7, size, type);
    if (size < 0x10000) return Uint8Array.of(0xc8, size >>> 8, size & 0xff, type);
  }
  const header = Uint8Array.of(0xc9, 0, 0, 0, 0, type);
  new DataView(header.buffer).setUint32(1, size);
  return header;
}

/** The widths a msgpack str header can have for `length` bytes of UTF-8, shortest first. */
function strHeaderWidths(length: number): number[] {
  return [length < 32 ? 1 : 0, length < 0x100 ? 2 : 0, length < 0x10000 ? 3 : 0, 5].filter((w) => w > 0);
}

function strHeader(length: number, width: number): Uint8Array {
  if (width === 1) return Uint8Array.of(0xa0 | length);
  if (width === 2) return Uint8Array.of(0xd9, length);
  if (width === 3) return Uint8Array.of(0xda, length >>> 8, length & 0xff);
  const header = Uint8Array.of(0xdb, 0, 0, 0, 0);
  new DataView(header.buffer).setUint32(1, length);
  return header;
}

/** fixarray, array 16 and array 32 headers for the envelope's 4 elements. */
const TUPLE4_HEADERS = [Uint8Array.of(0x94), Uint8Array.of(0xdc, 0, 4), Uint8Array.of(0xdd, 0, 0, 0, 4)];

const utf8 = new TextEncoder();

/**
 * The envelope up to its message: [session_id, session_type, ext 0x12(cache), ...]. `padding`
 * (0–7) extra bytes are spent on wider-than-needed headers, which every msgpack reader accepts
 * (shortest when 0); that is how a large typed array in the message lands 8-byte aligned in the
 * frame, so the receiver can view it without a copy. Some combination always fits: the two
 * strings and the array header widen by {0, 1, 2, 4}, {0, 1, 2, 4} (or {0, 1, 3}) and {0, 2, 4}.
 */
function envelopeHead(sessionId: string, sessionType: SessionType, cache: Uint8Array, padding: number): Uint8Array[] {
  const id = utf8.encode(sessionId);
  const type = utf8.encode(sessionType);
  const idWidths = strHeaderWidths(id.byteLength);
  const typeWidths = strHeaderWidths(type.byteLength);
  let best: { tuple: Uint8Array; idWidth: number; typeWidth: number; extra: number } | undefined;
  for (const tuple of TUPLE4_HEADERS) {
    for (const idWidth of idWidths) {
      for (const typeWidth of typeWidths) {
        const extra = tuple.byteLength - 1 + (idWidth - idWidths[0]!) + (typeWidth - typeWidths[0]!);
        if (extra % 8 === padding && (!best || extra < best.extra)) best = { tuple, idWidth, typeWidth, extra };
      }
    }
  }
  const { tuple, idWidth, typeWidth } = best!;
  return [tuple, strHeader(id.byteLength, idWidth), id, strHeader(type.byteLength, typeWidth), type, extHeader(0x12, cache.byteLength), cache];
}

/** A session's packed empty cache and the envelope heads made with it, by padding (0–7). */
interface EmptyCacheEnvelope {
  cache: Uint8Array;
  heads: Array<readonly Uint8Array[] | undefined>;
}

/**
 * Envelopes of frames whose session cache is empty (nearly every frame after the first ones
 * of a session), by session and type: packing the cache and the session id again for every
 * small update was most of the cost of encoding it. The bytes are only ever read (copied
 * into frames). Bounded: cleared when full, which costs one re-encoding each.
 */
const emptyCacheEnvelopes = new Map<string, EmptyCacheEnvelope>();
const MAX_EMPTY_CACHE_ENVELOPES = 1024;

/** Must run before packPieces for the message: packing the cache reuses packPieces' buffer. */
function emptyCacheEnvelope(sessionId: string, sessionType: SessionType): EmptyCacheEnvelope {
  const key = `${sessionType}:${sessionId}`;
  let envelope = emptyCacheEnvelopes.get(key);
  if (!envelope) {
    if (emptyCacheEnvelopes.size >= MAX_EMPTY_CACHE_ENVELOPES) emptyCacheEnvelopes.clear();
    envelope = { cache: pack(new SessionCache(sessionId, sessionType, [])), heads: [] };
    emptyCacheEnvelopes.set(key, envelope);
  }
  return envelope;
}

function byteLength(parts: readonly Uint8Array[]): number {
  let size = 0;
  for (const part of parts) size += part.byteLength;
  return size;
}

/** Frames arrive as Uint8Array (Node Buffers included) or, from a browser channel, ArrayBuffer. */
function toBytes(frame: unknown): Uint8Array {
  if (frame instanceof Uint8Array) return plainBytes(frame);
  if (frame instanceof ArrayBuffer) return new Uint8Array(frame);
  throw new ProtocolError(`a frame must be a Uint8Array or ArrayBuffer, got ${describeValue(frame)}`);
}

/** Refuses an empty frame or one larger than `maxFrameSize`, before anything is read. */
function checkSize(bytes: Uint8Array, maxFrameSize: number): void {
  if (bytes.byteLength === 0) throw new ProtocolError("empty frame");
  if (bytes.byteLength > maxFrameSize) throw new ProtocolError(`frame of ${bytes.byteLength} bytes exceeds maxFrameSize (${maxFrameSize} bytes)`);
}

/** Undoes the session's compression, or checks that there is nothing to undo. */
function decompress(bytes: Uint8Array, compression: boolean, maxFrameSize: number): Uint8Array {
  checkSize(bytes, maxFrameSize);
  return compression ? inflate(bytes, maxFrameSize) : bytes;
}

/**
 * Runs `step` on the frame's bytes, turning anything it throws into a ProtocolError, with a
 * hint when the frame looks compressed but compression is off.
 */
function guard<T>(frame: unknown, compression: boolean, step: (bytes: Uint8Array) => T): T {
  const bytes = toBytes(frame);
  try {
    return step(bytes);
  } catch (error) {
    throw withCompressionHint(error, bytes, compression);
  }
}

/** `error` as a ProtocolError, saying so when the frame looks compressed but compression is off. */
function withCompressionHint(error: unknown, bytes: Uint8Array, compression: boolean): ProtocolError {
  const reason = error instanceof Error ? error.message : String(error);
  const format = compression ? null : compressionFormat(bytes);
  const hint = format ? ` (the frame looks ${format}-compressed, but compression is off for this session)` : "";
  if (error instanceof ProtocolError && !hint) return error;
  return new ProtocolError(`${error instanceof ProtocolError ? "" : "invalid frame: "}${reason}${hint}`);
}

/**
 * Encodes a server → frontend frame: the message in a SerializedMessage envelope (extension
 * 107) with its SessionCache, gzip-compressed when `compression` is on. Validates the message.
 * A large typed array in the message is copied once, into the frame, and placed 8-byte aligned.
 */
export function encodeServerFrame(
  sessionId: string,
  message: BonitoMessage,
  compression: boolean,
  options: ServerFrameOptions = {},
): Uint8Array {
  validateMessage(message);
  return encodeEnvelope(sessionId, message, compression, options);
}

/**
 * Encodes the initial frame of a session as Bonito v5 lays it out: the same envelope as
 * {@link encodeServerFrame}, holding an *array* of messages, which the page hands to
 * `Bonito.init_session(id, bytes, "root", compression)`. The frontend registers the cache,
 * runs the messages in order, then reports the session loaded. A message may come with its own
 * envelope (a sub-session's, nested as Bonito nests queued messages). Validates every message.
 */
export function encodeInitFrame(
  sessionId: string,
  messages: ReadonlyArray<BonitoMessage | SerializedMessage>,
  compression: boolean,
  options: ServerFrameOptions = {},
): Uint8Array {
  if (!Array.isArray(messages)) throw new ProtocolError(`initial messages must be an array, got ${describeValue(messages)}`);
  messages.forEach((message, i) => validateMessage(message, `initial message ${i}`));
  return encodeEnvelope(sessionId, messages, compression, options);
}

/** The envelope around `data` (already validated). */
function encodeEnvelope(sessionId: string, data: unknown, compression: boolean, options: ServerFrameOptions): Uint8Array {
  if (typeof sessionId !== "string") throw new ProtocolError(`session id must be a string, got ${describeValue(sessionId)}`);
  const sessionType = options.sessionType ?? "root";
  if (sessionType !== "root" && sessionType !== "sub") {
    throw new ProtocolError(`session type must be "root" or "sub", got ${String(sessionType)}`);
  }
  const entries = options.cache ?? [];
  // The cache is packed (copied) first: packPieces reuses one buffer for the message.
  const empty = entries.length === 0 ? emptyCacheEnvelope(sessionId, sessionType) : null;
  const cache = empty ? empty.cache : pack(new SessionCache(sessionId, sessionType, entries), SERVER_NUMBERS);
  const headFor = (padding: number) =>
    empty ? (empty.heads[padding] ??= envelopeHead(sessionId, sessionType, cache, padding)) : envelopeHead(sessionId, sessionType, cache, padding);
  const body = packPieces(data, SERVER_NUMBERS);
  const bodySize = byteLength(body);
  // body[1], when present, is the first large typed array. Its offset is only known once the
  // headers' lengths are, so those headers take their fixed-length (ext 32) form.
  const gathered = body.length > 1;
  let head = headFor(0);
  if (gathered) {
    const offset = 6 + byteLength(head) + 6 + body[0]!.byteLength;
    head = headFor((8 - (offset % 8)) % 8);
  }
  const bodyHeader = extHeader(0x12, bodySize, gathered);
  const outerHeader = extHeader(107, byteLength(head) + bodyHeader.byteLength + bodySize, gathered);
  const parts = [outerHeader, ...head, bodyHeader, ...body];
  return compression ? gzip(parts) : concatBytes(parts);
}

/**
 * Decodes a server → frontend frame with its envelope: what Bonito's JS `decode_binary`
 * unpacks, including the session caches it would register. Throws only ProtocolError.
 */
export function decodeServerEnvelope(frame: Uint8Array | ArrayBuffer, compression: boolean, options: DecodeOptions = {}): ServerFrame {
  return guard(frame, compression, (raw) => {
    const { envelope, caches } = decodeEnvelope(raw, compression, options);
    validateMessage(envelope.message);
    return { sessionId: envelope.cache.sessionId, sessionType: envelope.cache.sessionType, caches, message: envelope.message };
  });
}

/**
 * Decodes a session's initial frame: Bonito v5's layout (an array of messages) or a single
 * message (as older versions of this library sent), which stands for an array of one.
 * Validates every message; throws only ProtocolError.
 */
export function decodeInitFrame(frame: Uint8Array | ArrayBuffer, compression: boolean, options: DecodeOptions = {}): InitFrame {
  return guard(frame, compression, (raw) => {
    const { envelope, caches } = decodeEnvelope(raw, compression, options);
    const data = envelope.message;
    const messages = Array.isArray(data) ? data : [data];
    messages.forEach((message, i) => validateMessage(message, Array.isArray(data) ? `initial message ${i}` : "initial message"));
    return { sessionId: envelope.cache.sessionId, sessionType: envelope.cache.sessionType, caches, messages };
  });
}

/** The SerializedMessage envelope of a server frame, and every cache met while decoding it. */
function decodeEnvelope(raw: Uint8Array, compression: boolean, options: DecodeOptions): { envelope: SerializedMessage; caches: SessionCache[] } {
  const outer = unpackPlain(decompress(raw, compression, options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE));
  // Decoded ExtData always holds bytes (a function only appears when encoding).
  if (!(outer instanceof ExtData) || outer.type !== 107 || !(outer.data instanceof Uint8Array)) {
    const got = outer instanceof ExtData ? `extension ${outer.type}` : describeValue(outer);
    throw new ProtocolError(`a server frame must be extension 107 (SerializedMessage), got ${got}`);
  }
  // Depth 1: the envelope itself is the first extension level.
  const context = decodeContext(1);
  const envelope = decodeSerializedMessage(outer.data, context);
  return { envelope, caches: context.caches };
}

/**
 * Decodes a server → frontend frame to its message: what Bonito's JS `decode_binary` returns.
 * Validates the message; throws only ProtocolError.
 */
export function decodeServerFrame(frame: Uint8Array | ArrayBuffer, compression: boolean, options: DecodeOptions = {}): BonitoMessage {
  return decodeServerEnvelope(frame, compression, options).message;
}

/**
 * Encodes a frontend → server frame: msgpack of the plain message map, zlib-compressed when
 * `compression` is on (as Bonito's JS `encode_binary`). Validates the message.
 */
export function encodeClientFrame(message: BonitoMessage, compression: boolean): Uint8Array {
  validateMessage(message);
  const pieces = packPieces(message);
  return compression ? zlibDeflate(pieces) : concatBytes(pieces);
}

/**
 * Decodes a frontend → server frame (gzip or zlib when `compression` is on) at once, under
 * the {@link FrameLimits} in `options` (all but the time limit). Only what a frontend may
 * send is accepted: server-only extensions are refused. Validates the message; throws only
 * ProtocolError. A server decodes with {@link decodeClientFrameInSlices} instead.
 */
export function decodeClientFrame(frame: Uint8Array | ArrayBuffer, compression: boolean, options: DecodeOptions = {}): BonitoMessage {
  const limits = frameLimits(options);
  return guard(frame, compression, (raw) => {
    const bytes = decompress(raw, compression, limits.maxFrameSize);
    const message = new BoundedDecoder(bytes, { maxObjects: limits.maxFrameObjects, maxDepth: limits.maxFrameDepth }).decodeAll();
    validateMessage(message);
    return message;
  });
}

/** Compressed input per inflate step: deflate expands at most ~1032×, so about 1 MiB out. */
const INFLATE_INPUT_PER_STEP = 1024;

/** Decoder work units per step between clock checks (a unit is about one decoded value). */
const DECODE_UNITS_PER_STEP = 2048;

/** Bytes copied per step when joining inflated pieces. */
const COPY_PER_STEP = 4 * 1024 * 1024;

/** About what one decoded value costs in memory (a small object or array, measured in V8). */
const HELD_BYTES_PER_VALUE = 64;

/**
 * Decodes a frontend → server frame as {@link decodeClientFrame} does, but in short slices
 * that give the thread back in between (see `slices.ts`), and within `maxFrameDecodeMs` of
 * processing. What a server uses, so that one visitor's large frame cannot starve the others.
 * `hooks` see the memory the frame holds at each pause and can stop the decode. Resolves to
 * the validated message; rejects only with ProtocolError.
 */
export async function decodeClientFrameInSlices(
  frame: Uint8Array | ArrayBuffer,
  compression: boolean,
  options: DecodeOptions = {},
  scheduler: SliceScheduler = defaultSliceScheduler,
  hooks: SliceHooks = {},
): Promise<BonitoMessage> {
  const limits = frameLimits(options);
  const raw = toBytes(frame);
  try {
    checkSize(raw, limits.maxFrameSize);
    const slices = new Slices(scheduler, limits.maxFrameDecodeMs, hooks);
    const bytes = compression ? await inflateInSlices(raw, limits.maxFrameSize, slices) : raw;
    const inflated = compression ? bytes.byteLength : 0;
    const decoder = new BoundedDecoder(bytes, { maxObjects: limits.maxFrameObjects, maxDepth: limits.maxFrameDepth });
    while (!decoder.advance(DECODE_UNITS_PER_STEP)) {
      if (!slices.due) continue;
      slices.held = inflated + decoder.objectCount * HELD_BYTES_PER_VALUE;
      await slices.pause();
    }
    slices.check();
    const message = decoder.value;
    validateMessage(message);
    return message;
  } catch (error) {
    throw withCompressionHint(error, raw, compression);
  }
}

/** Inflates in steps, pausing between slices; stops as soon as the output passes `maxBytes`. */
async function inflateInSlices(bytes: Uint8Array, maxBytes: number, slices: Slices): Promise<Uint8Array> {
  const inflater = new Inflater(bytes, maxBytes);
  while (!inflater.step(INFLATE_INPUT_PER_STEP)) {
    if (!slices.due) continue;
    slices.held = inflater.inflatedBytes;
    await slices.pause();
  }
  const { chunks, size } = inflater.output;
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    for (let at = 0; at < chunk.byteLength; at += COPY_PER_STEP) {
      const piece = chunk.subarray(at, at + COPY_PER_STEP);
      out.set(piece, offset);
      offset += piece.byteLength;
      if (slices.due) await slices.pause();
    }
  }
  return out;
}
