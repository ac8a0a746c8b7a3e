/**
 * The msgpack extension types Bonito v5 puts on the wire, as one `ExtensionCodec`, plus
 * `pack`/`unpack` that use it.
 *
 * Layouts (Bonito.jl v5.0.0 `src/serialization/msgpack.jl` writes them, `types.jl` lists the
 * typed-array element types, `js_dependencies/Protocol.js` reads them):
 *
 *   0x11–0x18  raw little-endian elements of Int8, UInt8, Int16, UInt16, Int32, UInt32,
 *              Float32, Float64 (tag = 0x10 + index in Bonito's `JSTypedArrayEltypes`).
 *              0x12 (= 18) doubles as Bonito's wrapper for opaque bytes.
 *   99         N-d array: msgpack [dims as ext 0x16 (UInt32), flat elements as ext 0x11–0x18]
 *   101        Observable: msgpack [id, value]
 *   102        JSCode: msgpack [interpolated_objects (map id => value), source, julia_file]
 *   104        CacheKey: msgpack key string
 *   106        SessionCache: msgpack [session_id, "root"|"sub", ext 0x12(msgpack [objects...])]
 *   107        SerializedMessage: msgpack
 *              [session_id, "root"|"sub", ext 0x12(msgpack ext 106), ext 0x12(msgpack data)]
 *
 * 105 (DOM node), 108 (raw HTML) and 109 (TrackingOnly) are registered by rendering.ts.
 * Numbers are written as msgpack-javascript writes them, except that server frames keep the
 * sign of -0 (see {@link PackOptions}).
 *
 * Runs unchanged in the browser: only Uint8Array/DataView, never Node's Buffer.
 */
import { Decoder, Encoder, ExtData, ExtensionCodec } from "@msgpack/msgpack";
import {
  CacheKey,
  JSCode,
  NdArray,
  ObservableRef,
  ProtocolError,
  SerializedMessage,
  SessionCache,
  describeValue,
  isPlainObject,
  type BonitoTypedArray,
  type SessionType,
} from "./messages.js";

/** Extension type codes, named after what they carry. */
export const ExtensionTag = {
  Int8Array: 0x11,
  Uint8Array: 0x12,
  Int16Array: 0x13,
  Uint16Array: 0x14,
  Int32Array: 0x15,
  Uint32Array: 0x16,
  Float32Array: 0x17,
  Float64Array: 0x18,
  NdArray: 99,
  Observable: 101,
  JSCode: 102,
  CacheKey: 104,
  DomNode: 105,
  SessionCache: 106,
  SerializedMessage: 107,
  RawHtml: 108,
  TrackingOnly: 109,
} as const;

/** State threaded through one encode or decode. */
export interface CodecContext {
  /** Decoding: every SessionCache met (the frame's own first, then those of nested envelopes). */
  caches: SessionCache[];
  /** Decoding: current extension nesting depth, bounded so hostile input cannot exhaust the stack. */
  depth: number;
  /** Encoding by {@link packPieces}: large typed arrays left out of the output, to be spliced in. */
  gathered: Gathered[] | null;
  /** Encoding: write -0 as a float 64 (as Julia writes a Float64 -0.0) instead of the integer 0. */
  signedZero?: boolean;
}

/** How {@link pack} and {@link packPieces} write numbers. */
export interface PackOptions {
  /**
   * Write -0 as a float 64, keeping its sign, as Bonito's server (Julia) writes a Float64 -0.0.
   * Off: -0 is the integer 0, as Bonito's JavaScript (msgpack-javascript) writes it. Server
   * frames turn it on, frontend frames leave it off, so both directions match Bonito's bytes.
   */
  signedZero?: boolean;
}

/** A typed array's bytes that belong at offset `at` of an encoded output but were not copied into it. */
export interface Gathered {
  at: number;
  bytes: Uint8Array;
}

/**
 * Typed arrays at least this big are gathered instead of copied into the msgpack buffer. msgpack
 * writes a gathered array's header as ext 32, which is the canonical form from 64 KiB on, so
 * the bytes stay identical to a plain encode.
 */
const GATHER_MIN_BYTES = 1 << 16;

const NO_BYTES = new Uint8Array(0);

/** A context for one decode. */
export function decodeContext(depth = 0): CodecContext {
  return { caches: [], depth, gathered: null };
}

/** Bonito v5's extension types, for `@msgpack/msgpack`'s encode/decode (registered below). */
export const extensionCodec = new ExtensionCodec<CodecContext | undefined>();

/** Extensions may nest (an observable holding JSCode holding an observable...), but not this deep. */
const MAX_EXTENSION_DEPTH = 64;

/** Encoders whose buffer grew past this are dropped after use, so one huge message does not pin memory. */
const RETAINED_ENCODER_BYTES = 1 << 20;

/** Typed arrays are raw little-endian bytes on the wire; a big-endian host would need swapping. */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type TypedArrayConstructor = {
  new (length: number): BonitoTypedArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): BonitoTypedArray;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
};

const TYPED_ARRAYS: ReadonlyArray<readonly [number, TypedArrayConstructor]> = [
  [ExtensionTag.Int8Array, Int8Array],
  [ExtensionTag.Uint8Array, Uint8Array],
  [ExtensionTag.Int16Array, Int16Array],
  [ExtensionTag.Uint16Array, Uint16Array],
  [ExtensionTag.Int32Array, Int32Array],
  [ExtensionTag.Uint32Array, Uint32Array],
  [ExtensionTag.Float32Array, Float32Array],
  [ExtensionTag.Float64Array, Float64Array],
];

/** True for one of the eight typed arrays Bonito sends natively. */
export function isBonitoTypedArray(value: unknown): value is BonitoTypedArray {
  return TYPED_ARRAYS.some(([, Ctor]) => value instanceof Ctor);
}

function hex(tag: number): string {
  return `0x${tag.toString(16)}`;
}

function checkEndianness(what: string, bytesPerElement: number): void {
  if (bytesPerElement > 1 && !HOST_IS_LITTLE_ENDIAN) {
    throw new ProtocolError(`${what}: big-endian hosts are not supported (Bonito sends little-endian bytes)`);
  }
}

/** The bytes of a typed array, without copying. */
function bytesOf(array: ArrayBufferView): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/**
 * Views `data` as a typed array. Zero-copy when the offset is aligned for the element size
 * (always for bytes); otherwise one copy, because typed arrays cannot start mid-element.
 * The result may share memory with the frame it was decoded from.
 */
function viewAs(Ctor: TypedArrayConstructor, tag: number, data: Uint8Array): BonitoTypedArray {
  const size = Ctor.BYTES_PER_ELEMENT;
  if (data.byteLength % size !== 0) {
    throw new ProtocolError(
      `extension ${hex(tag)} (${Ctor.name}): ${data.byteLength} bytes is not a whole number of ${size}-byte elements`,
    );
  }
  checkEndianness(`extension ${hex(tag)} (${Ctor.name})`, size);
  const length = data.byteLength / size;
  if (data.byteOffset % size === 0) return new Ctor(data.buffer, data.byteOffset, length);
  const copy = new Ctor(length);
  new Uint8Array(copy.buffer).set(data);
  return copy;
}

// ---------------------------------------------------------------------------------------
// pack / unpack

/** The part of msgpack's Encoder that decides how a number is written (not in its typings). */
interface NumberWriting {
  encodeNumber(value: number): void;
  encodeNumberAsFloat(value: number): void;
  clone(): Encoder<CodecContext | undefined>;
}

/**
 * Makes `encoder` write -0 as a float 64. msgpack-javascript writes every safe integer as an
 * integer, and -0 is one, so its sign would be lost. The encoder's clones (made when it is
 * re-entered by nested extensions) get the same treatment.
 */
function keepSignOfZero(encoder: Encoder<CodecContext | undefined>): Encoder<CodecContext | undefined> {
  const writing = encoder as unknown as NumberWriting;
  const encodeNumber = writing.encodeNumber;
  const clone = writing.clone;
  writing.encodeNumber = function (this: NumberWriting, value: number) {
    if (value === 0 && 1 / value < 0) this.encodeNumberAsFloat(value);
    else encodeNumber.call(this, value);
  };
  writing.clone = function (this: NumberWriting) {
    return keepSignOfZero(clone.call(this));
  };
  return encoder;
}

/** An Encoder reused across calls (msgpack's encoders are much faster warm). */
class SharedEncoder {
  private encoder: Encoder<CodecContext | undefined>;

  constructor(private readonly context?: CodecContext) {
    this.encoder = this.create();
  }

  private create(): Encoder<CodecContext | undefined> {
    const encoder = new Encoder<CodecContext | undefined>({ extensionCodec, context: this.context });
    return this.context?.signedZero ? keepSignOfZero(encoder) : encoder;
  }

  /** Encodes into the shared buffer: the view is valid only until the next call. */
  encodeShared(value: unknown): Uint8Array {
    const encoder = this.encoder;
    // Encoder clones itself when re-entered (extensions pack their payloads), so this is safe.
    const bytes = encoder.encodeSharedRef(value);
    if (bytes.byteLength > RETAINED_ENCODER_BYTES && encoder === this.encoder) {
      // Hand the big buffer to the caller instead of keeping it for the next message.
      this.encoder = this.create();
    }
    return bytes;
  }
}

/** Wraps whatever msgpack or the runtime threw into a ProtocolError that says where. */
function asProtocolError(error: unknown, where: string): ProtocolError {
  if (error instanceof ProtocolError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new ProtocolError(`${where}: ${reason}`);
}

const payloadEncoder = new SharedEncoder();
/** Its context carries the flag into extensions nested in payloads. */
const signedZeroPayloadEncoder = new SharedEncoder({ caches: [], depth: 0, gathered: null, signedZero: true });

/**
 * Packs an extension's payload, writing numbers as the enclosing encode does (`context`). The
 * view is consumed at once by the enclosing encoder.
 */
export function encodeExtensionPayload(value: unknown, what: string, context: CodecContext | undefined): Uint8Array {
  try {
    return (context?.signedZero ? signedZeroPayloadEncoder : payloadEncoder).encodeShared(value);
  } catch (error) {
    throw asProtocolError(error, `cannot encode ${what}`);
  }
}

/**
 * Unpacks msgpack bytes with Bonito's extensions, rewording msgpack's terse range errors.
 * Throws plain Errors for this level's problems so that callers prefix where they happened;
 * ProtocolErrors from nested extensions already say where.
 */
function unpackWith(bytes: Uint8Array, context: CodecContext | undefined, extensions = true): unknown {
  // A fresh Decoder per call: a shared one would keep the last (possibly huge) frame alive.
  const decoder = extensions ? new Decoder<CodecContext | undefined>({ extensionCodec, context }) : new Decoder();
  try {
    return decoder.decode(bytes);
  } catch (error) {
    if (error instanceof RangeError) {
      const extra = /^Extra (\d+) of/.exec(error.message);
      if (extra) throw new Error(`${extra[1]} byte(s) of trailing garbage after the msgpack value`);
      if (/Insufficient data|outside the bounds/.test(error.message)) {
        throw new Error(`truncated: the msgpack value runs past the end of its ${bytes.byteLength} bytes`);
      }
    }
    throw error;
  }
}

/** Decodes an extension payload, naming the extension in any error. */
export function decodeExtensionPayload(data: Uint8Array, context: CodecContext | undefined, what: string): unknown {
  const ctx = context ?? decodeContext();
  if (ctx.depth >= MAX_EXTENSION_DEPTH) {
    throw new ProtocolError(`${what}: extensions nested deeper than ${MAX_EXTENSION_DEPTH} levels`);
  }
  ctx.depth++;
  try {
    return unpackWith(data, ctx);
  } catch (error) {
    throw asProtocolError(error, `${what} payload is not valid msgpack`);
  } finally {
    ctx.depth--;
  }
}

/** Unpacks an extension payload that must be an array of `length` elements. */
function unpackTuple(data: Uint8Array, context: CodecContext | undefined, what: string, layout: string): unknown[] {
  const value = decodeExtensionPayload(data, context, what);
  const length = layout.split(",").length;
  if (!Array.isArray(value) || value.length !== length) {
    throw new ProtocolError(`${what}: expected ${layout}, got ${Array.isArray(value) ? `${value.length} elements` : describeValue(value)}`);
  }
  return value;
}

function sessionType(value: unknown, what: string): SessionType {
  if (value !== "root" && value !== "sub") {
    throw new ProtocolError(`${what}: session type must be "root" or "sub", got ${JSON.stringify(value) ?? String(value)}`);
  }
  return value;
}

function requireString(value: unknown, what: string, field: string): string {
  if (typeof value !== "string") throw new ProtocolError(`${what}: ${field} must be a string, got ${describeValue(value)}`);
  return value;
}

/** Bonito wraps nested packed bytes in ext 0x12; msgpack `bin` is accepted too. */
function requireBytes(value: unknown, what: string, field: string): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new ProtocolError(`${what}: ${field} must be bytes (extension 0x12), got ${describeValue(value)}`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------
// The codec

for (const [tag, Ctor] of TYPED_ARRAYS) {
  extensionCodec.register({
    type: tag,
    encode: (value, context) => {
      // A Buffer is a Uint8Array and goes out as extension 0x12, as Bonito's JS writes any
      // Uint8Array. Other views (Uint8ClampedArray, DataView) fall through to msgpack `bin`,
      // again as Bonito's JS writes them; they arrive as a Uint8Array.
      if (!(value instanceof Ctor)) return null;
      checkEndianness(`cannot encode ${Ctor.name}`, Ctor.BYTES_PER_ELEMENT);
      const bytes = bytesOf(value as ArrayBufferView);
      const gathered = context?.gathered;
      if (!gathered || bytes.byteLength < GATHER_MIN_BYTES) return bytes;
      // msgpack writes a data function's result after an ext 32 header and tells it where:
      // record the spot, write nothing, and let packPieces patch the size and splice the bytes.
      return (at: number) => {
        gathered.push({ at, bytes });
        return NO_BYTES;
      };
    },
    decode: (data) => viewAs(Ctor, tag, data),
  });
}

extensionCodec.register({
  type: ExtensionTag.NdArray,
  encode: (value, context) => {
    if (!(value instanceof NdArray)) return null;
    const what = "N-d array (extension 99)";
    checkNdArray(value.size, value.array, what);
    // Julia writes the dimensions as a UInt32 vector, i.e. ext 0x16.
    return encodeExtensionPayload([Uint32Array.from(value.size), value.array], what, context);
  },
  decode: (data, _type, context) => ndArrayFromPayload(unpackTuple(data, context, "extension 99 (N-d array)", "[dims, elements]")),
});

/**
 * Extension 99 from its decoded payload `[dims, elements]` (dims as a UInt32 array or a plain
 * array of integers, as Bonito's page writes them), checked for consistency.
 */
export function ndArrayFromPayload(payload: unknown): NdArray {
  const what = "extension 99 (N-d array)";
  if (!Array.isArray(payload) || payload.length !== 2) {
    throw new ProtocolError(`${what}: expected [dims, elements], got ${Array.isArray(payload) ? `${payload.length} elements` : describeValue(payload)}`);
  }
  const [dims, array] = payload as [unknown, unknown];
  const size = dims instanceof Uint32Array ? Array.from(dims) : dims;
  if (!Array.isArray(size)) throw new ProtocolError(`${what}: dims must be a UInt32 array, got ${describeValue(dims)}`);
  if (!isBonitoTypedArray(array)) throw new ProtocolError(`${what}: elements must be a typed array`);
  checkNdArray(size, array, what);
  return new NdArray(size as number[], array);
}

function checkNdArray(size: readonly unknown[], array: unknown, what: string): void {
  if (!isBonitoTypedArray(array)) throw new ProtocolError(`${what}: elements must be one of the eight typed arrays`);
  let count = 1;
  for (const dim of size) {
    if (typeof dim !== "number" || !Number.isInteger(dim) || dim < 0 || dim > 0xffffffff) {
      throw new ProtocolError(`${what}: dimension ${String(dim)} is not a UInt32`);
    }
    count *= dim;
  }
  if (count !== array.length) {
    throw new ProtocolError(`${what}: dims [${size.join(", ")}] hold ${count} elements but ${array.length} were given`);
  }
}

extensionCodec.register({
  type: ExtensionTag.Observable,
  encode: (value, context) =>
    value instanceof ObservableRef ? encodeExtensionPayload([value.id, value.value], `observable "${value.id}"`, context) : null,
  decode: (data, _type, context) => {
    const what = "extension 101 (Observable)";
    const [id, value] = unpackTuple(data, context, what, "[id, value]");
    return new ObservableRef(requireString(id, what, "id"), value);
  },
});

extensionCodec.register({
  type: ExtensionTag.JSCode,
  encode: (value, context) =>
    value instanceof JSCode ? encodeExtensionPayload([value.interpolated, value.source, value.file], "JSCode", context) : null,
  decode: (data, _type, context) => {
    const what = "extension 102 (JSCode)";
    const [interpolated, source, file] = unpackTuple(data, context, what, "[interpolated, source, file]");
    if (!Array.isArray(interpolated) && !isPlainObject(interpolated)) {
      throw new ProtocolError(`${what}: interpolated objects must be a map or an array`);
    }
    return new JSCode(requireString(source, what, "source"), interpolated, requireString(file, what, "file"));
  },
});

extensionCodec.register({
  type: ExtensionTag.CacheKey,
  encode: (value, context) => (value instanceof CacheKey ? encodeExtensionPayload(value.key, "CacheKey", context) : null),
  decode: (data, _type, context) => {
    const what = "extension 104 (CacheKey)";
    return new CacheKey(requireString(decodeExtensionPayload(data, context, what), what, "key"));
  },
});

extensionCodec.register({
  type: ExtensionTag.SessionCache,
  encode: (value, context) => (value instanceof SessionCache ? packSessionCache(value, context) : null),
  decode: (data, _type, context) => decodeSessionCache(data, context),
});

extensionCodec.register({
  type: ExtensionTag.SerializedMessage,
  encode: (value, context) => {
    if (!(value instanceof SerializedMessage)) return null;
    const { cache, message } = value;
    const options = { signedZero: context?.signedZero };
    // The two inner packs must be owned copies: both are inside the payload packed last.
    return encodeExtensionPayload(
      [cache.sessionId, cache.sessionType, pack(cache, options), pack(message, options)],
      `message of session "${cache.sessionId}"`,
      context,
    );
  },
  // Nested envelopes (inside a FusedMessage) decode to the bare message, as in Bonito's JS;
  // their caches are collected in the context.
  decode: (data, _type, context) => decodeSerializedMessage(data, context).message,
});

/** The payload of extension 106: [session_id, type, ext 0x12(msgpack objects)]. */
function packSessionCache(cache: SessionCache, context: CodecContext | undefined): Uint8Array {
  const objects = pack(cache.objects, { signedZero: context?.signedZero });
  return encodeExtensionPayload([cache.sessionId, cache.sessionType, objects], `cache of session "${cache.sessionId}"`, context);
}

/** Decodes the payload of extension 106 and records it in the context. */
function decodeSessionCache(data: Uint8Array, context: CodecContext | undefined): SessionCache {
  const what = "extension 106 (SessionCache)";
  const [id, type, packed] = unpackTuple(data, context, what, "[session_id, session_type, objects]");
  const sessionId = requireString(id, what, "session_id");
  const kind = sessionType(type, what);
  const objects = decodeExtensionPayload(requireBytes(packed, what, "objects"), context, `${what} objects`);
  if (!Array.isArray(objects)) throw new ProtocolError(`${what}: objects must be an array`);
  const cache = new SessionCache(sessionId, kind, objects);
  context?.caches.push(cache);
  return cache;
}

/**
 * Decodes the payload of extension 107. The cache is decoded first, as Bonito does, so the
 * objects it introduces exist before the message refers to them.
 */
export function decodeSerializedMessage(data: Uint8Array, context: CodecContext | undefined): SerializedMessage {
  const what = "extension 107 (SerializedMessage)";
  const [id, type, packedCache, packedMessage] = unpackTuple(
    data,
    context,
    what,
    "[session_id, session_type, cache, message]",
  );
  const sessionId = requireString(id, what, "session_id");
  const kind = sessionType(type, what);
  const cache = decodeExtensionPayload(requireBytes(packedCache, what, "cache"), context, `${what} cache`);
  if (!(cache instanceof SessionCache)) {
    throw new ProtocolError(`${what}: cache must be extension 106 (SessionCache)`);
  }
  if (cache.sessionId !== sessionId || cache.sessionType !== kind) {
    throw new ProtocolError(
      `${what}: envelope is for ${kind} session "${sessionId}" but its cache is for ${cache.sessionType} session "${cache.sessionId}"`,
    );
  }
  const message = decodeExtensionPayload(requireBytes(packedMessage, what, "message"), context, `${what} message`);
  return new SerializedMessage(cache, message);
}

/** One encoder (and its context) per way of writing numbers. */
function piecesEncoder(signedZero: boolean): { context: CodecContext; encoder: SharedEncoder } {
  const context: CodecContext = { caches: [], depth: 0, gathered: null, signedZero };
  return { context, encoder: new SharedEncoder(context) };
}
const piecesEncoders = { plain: piecesEncoder(false), signedZero: piecesEncoder(true) };

/**
 * msgpack-encodes `value` with Bonito's extensions as pieces that, concatenated, are the
 * encoding: msgpack segments (views into a reused buffer, valid until the next call) between
 * the bytes of large typed arrays (views of the caller's arrays, not copied). So a big payload
 * is copied once, into the frame (or not at all, when it is streamed into compression).
 * Typed arrays inside extension payloads (an ObservableRef's value) are copied as usual.
 */
export function packPieces(value: unknown, options: PackOptions = {}): Uint8Array[] {
  const { context, encoder } = options.signedZero ? piecesEncoders.signedZero : piecesEncoders.plain;
  // Re-entered (from an extension's encoder): the shared context is taken, use plain bytes.
  if (context.gathered !== null) return [encodeExtensionPayload(value, "value", context).slice()];
  const gathered: Gathered[] = [];
  context.gathered = gathered;
  let out: Uint8Array;
  try {
    out = encoder.encodeShared(value);
  } catch (error) {
    throw asProtocolError(error, "cannot encode value");
  } finally {
    context.gathered = null;
  }
  if (gathered.length === 0) return [out];
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const { at, bytes } of gathered) {
    // The ext 32 header ends at `at`: type byte at at-1, 32-bit size (written as 0) before it.
    view.setUint32(at - 5, bytes.byteLength);
    pieces.push(out.subarray(from, at), bytes);
    from = at;
  }
  pieces.push(out.subarray(from));
  return pieces;
}

/** Concatenates byte arrays into one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const part of parts) size += part.byteLength;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/**
 * msgpack-encodes `value` with Bonito's extensions into a fresh buffer the caller owns.
 * Throws ProtocolError for values msgpack cannot carry (functions, symbols, bigints).
 */
export function pack(value: unknown, options: PackOptions = {}): Uint8Array {
  return concatBytes(packPieces(value, options));
}

/**
 * Decodes msgpack bytes with Bonito's extensions. Throws only ProtocolError. Typed arrays in
 * the result may share memory with `bytes`.
 */
export function unpack(bytes: Uint8Array, context: CodecContext = decodeContext()): unknown {
  try {
    return unpackWith(plainBytes(bytes), context);
  } catch (error) {
    throw asProtocolError(error, "not valid msgpack");
  }
}

/** Decodes msgpack without Bonito's extensions: they come back as `ExtData` (zero-copy). */
export function unpackPlain(bytes: Uint8Array): unknown {
  try {
    return unpackWith(plainBytes(bytes), undefined, false);
  } catch (error) {
    throw asProtocolError(error, "not valid msgpack");
  }
}

/**
 * A plain Uint8Array over the same memory. A Node Buffer's `subarray` is a Buffer, and msgpack
 * hands out subarrays of its input for `bin` values; this keeps every decoded byte array plain.
 */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export { ExtData };
