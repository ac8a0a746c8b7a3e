/**
 * The msgpack decoder for frames that come from a frontend: every frame is hostile until it
 * has decoded, so the decoder enforces its budgets while it reads, never after.
 *
 * - **Values**: every msgpack value (scalar, string, array, map, map key, extension) counts
 *   one against `maxObjects`. An array or map header that announces more elements than the
 *   budget (or the bytes left) could hold is refused before anything is allocated for it.
 * - **Depth**: arrays, maps and extension payloads nest at most `maxDepth` levels.
 * - **Extensions**: a frontend may send only what Bonito's own page encoder writes: typed
 *   arrays (0x11–0x18), N-d arrays (99) and msgpack timestamps (-1). Everything else (the
 *   server-only 101 Observable, 102 JSCode, 104 CacheKey, 105 DOM node, 106 SessionCache,
 *   107 SerializedMessage, 108 raw HTML, 109 TrackingOnly, and unknown types) is refused,
 *   so a value relayed from one page to another can never register or overwrite objects there.
 * - **Slices**: {@link BoundedDecoder.advance} does a bounded amount of work and returns, keeping
 *   its place (an explicit stack, no recursion), so a large frame can be decoded a slice at a
 *   time with the event loop free in between. Long strings are decoded in pieces too.
 *
 * Results match `@msgpack/msgpack`'s decoder with Bonito's extension codec for every frame
 * both accept: maps become plain objects (string or number keys, `__proto__` refused), `bin`
 * and typed arrays are views of the frame where alignment allows, 64-bit integers become numbers.
 *
 * Platform-free (Uint8Array, DataView, TextDecoder only).
 */
import { extensionCodec, ndArrayFromPayload, plainBytes } from "./extensions.js";
import { ProtocolError } from "./messages.js";

/** The budgets one frame is decoded under. */
export interface DecodeBudget {
  /** Most msgpack values in the frame. */
  maxObjects: number;
  /** Deepest nesting of arrays, maps and extension payloads. */
  maxDepth: number;
}

/** Extension types a frontend may send, with what they carry (for error messages). */
const FRONTEND_EXTENSIONS: ReadonlyMap<number, string> = new Map([
  [-1, "timestamp"],
  [0x11, "Int8Array"],
  [0x12, "Uint8Array"],
  [0x13, "Int16Array"],
  [0x14, "Uint16Array"],
  [0x15, "Int32Array"],
  [0x16, "Uint32Array"],
  [0x17, "Float32Array"],
  [0x18, "Float64Array"],
  [99, "N-d array"],
]);

/** Extension types only a server writes, named so the error says what was attempted. */
const SERVER_ONLY_EXTENSIONS: ReadonlyMap<number, string> = new Map([
  [101, "Observable"],
  [102, "JSCode"],
  [104, "CacheKey"],
  [105, "DOM node"],
  [106, "SessionCache"],
  [107, "SerializedMessage"],
  [108, "raw HTML"],
  [109, "TrackingOnly"],
]);

const N_D_ARRAY = 99;

/**
 * Work units: one per value, and one per this many bytes a value copies or converts, so a
 * slice of a given number of units takes about the same time whatever the frame holds.
 */
const BYTES_PER_UNIT = 64;

/** Strings longer than this are decoded in pieces across slices; shorter ones at once. */
const STRING_PIECE_BYTES = 256 * 1024;

/** Strings up to this length are decoded without TextDecoder when they are ASCII (far cheaper for map keys). */
const SHORT_STRING_BYTES = 32;

const enum Level {
  Array,
  Map,
  /** An extension 99 payload being read in place; `end` is where it must finish. */
  NdArray,
}

interface Frame {
  level: Level;
  /** Array: the elements so far. */
  array: unknown[] | undefined;
  /** Map: the entries so far. */
  map: Record<string, unknown> | undefined;
  /** Elements (array) or entries (map) announced. */
  size: number;
  /** Elements or entries filled so far. */
  filled: number;
  /** Map: the key waiting for its value, or undefined while a key is expected. */
  key: string | number | undefined;
  /** NdArray: where its payload starts and ends. */
  start: number;
  end: number;
}

/** A long string being decoded in pieces. */
interface StringInProgress {
  decoder: TextDecoder;
  end: number;
  text: string;
}

const utf8 = new TextDecoder();

/**
 * Decodes one msgpack value from a frontend's frame under a {@link DecodeBudget}. Create one
 * per frame, call {@link advance} until it returns true, then read {@link value}. Throws only
 * ProtocolError.
 */
export class BoundedDecoder {
  private bytes: Uint8Array;
  private view: DataView;
  private readonly budget: DecodeBudget;
  private pos = 0;
  /** Where the innermost region being read (the frame, or an extension 99 payload) ends. */
  private end: number;
  private objects = 0;
  private readonly stack: Frame[] = [];
  private longString: StringInProgress | null = null;
  private complete = false;
  private result: unknown;
  /** The value {@link readItem} finished, and the work units it cost beyond its own. */
  private itemValue: unknown;
  private itemCost = 0;

  constructor(bytes: Uint8Array, budget: DecodeBudget) {
    this.bytes = plainBytes(bytes);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.end = this.bytes.byteLength;
    this.budget = budget;
  }

  /** Values decoded so far. */
  get objectCount(): number {
    return this.objects;
  }

  /** The decoded value, once {@link advance} has returned true. */
  get value(): unknown {
    if (!this.complete) throw new Error("BoundedDecoder.value read before the frame was decoded");
    return this.result;
  }

  /**
   * Decodes for about `units` work units (a value each, plus one per 64 bytes converted).
   * Returns true once the whole frame has decoded; false when there is more to do.
   */
  advance(units: number): boolean {
    if (this.complete) return true;
    try {
      return this.work(units);
    } catch (error) {
      // The error's stack trace keeps this decoder reachable for as long as the error lives
      // (a session keeps why it closed): let go of the frame and the values built so far.
      this.discard();
      throw error;
    }
  }

  private work(units: number): boolean {
    let left = units;
    while (left > 0) {
      let value: unknown;
      if (this.longString) {
        const piece = Math.min(this.longString.end - this.pos, Math.max(left, 1) * BYTES_PER_UNIT);
        left -= Math.ceil(piece / BYTES_PER_UNIT);
        if (!this.continueString(piece)) continue;
        value = this.takeLongString();
      } else {
        left--;
        if (!this.readItem()) continue;
        value = this.itemValue;
        left -= this.itemCost;
      }
      if (this.place(value)) {
        this.finish();
        return true;
      }
    }
    return false;
  }

  private discard(): void {
    this.stack.length = 0;
    this.longString = null;
    this.itemValue = undefined;
    this.result = undefined;
    this.bytes = new Uint8Array(0);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Decodes the whole frame at once (still within the budget). */
  decodeAll(): unknown {
    while (!this.advance(1 << 20));
    return this.result;
  }

  // ---- reading one item ------------------------------------------------

  /**
   * Reads the item at `pos`. Returns true when it is a finished value (left in `itemValue`,
   * its extra cost in `itemCost`), false when it opened an array, map, extension 99 payload
   * or long string that later items fill.
   */
  private readItem(): boolean {
    this.count(1);
    const head = this.u8();
    if (head <= 0x7f) return this.done(head);
    if (head >= 0xe0) return this.done(head - 0x100);
    if (head <= 0x8f) return this.openMap(head - 0x80);
    if (head <= 0x9f) return this.openArray(head - 0x90);
    if (head <= 0xbf) return this.readString(head - 0xa0);
    switch (head) {
      case 0xc0:
        return this.done(null);
      case 0xc2:
        return this.done(false);
      case 0xc3:
        return this.done(true);
      case 0xc4:
        return this.readBinary(this.u8());
      case 0xc5:
        return this.readBinary(this.u16());
      case 0xc6:
        return this.readBinary(this.u32());
      case 0xc7:
        return this.readExtension(this.u8());
      case 0xc8:
        return this.readExtension(this.u16());
      case 0xc9:
        return this.readExtension(this.u32());
      case 0xca:
        return this.done(this.need(4) && this.view.getFloat32(this.skip(4)));
      case 0xcb:
        return this.done(this.need(8) && this.view.getFloat64(this.skip(8)));
      case 0xcc:
        return this.done(this.u8());
      case 0xcd:
        return this.done(this.u16());
      case 0xce:
        return this.done(this.u32());
      case 0xcf: {
        this.need(8);
        const at = this.skip(8);
        return this.done(this.view.getUint32(at) * 0x1_0000_0000 + this.view.getUint32(at + 4));
      }
      case 0xd0:
        return this.done(this.need(1) && this.view.getInt8(this.skip(1)));
      case 0xd1:
        return this.done(this.need(2) && this.view.getInt16(this.skip(2)));
      case 0xd2:
        return this.done(this.need(4) && this.view.getInt32(this.skip(4)));
      case 0xd3: {
        this.need(8);
        const at = this.skip(8);
        return this.done(this.view.getInt32(at) * 0x1_0000_0000 + this.view.getUint32(at + 4));
      }
      case 0xd4:
        return this.readExtension(1);
      case 0xd5:
        return this.readExtension(2);
      case 0xd6:
        return this.readExtension(4);
      case 0xd7:
        return this.readExtension(8);
      case 0xd8:
        return this.readExtension(16);
      case 0xd9:
        return this.readString(this.u8());
      case 0xda:
        return this.readString(this.u16());
      case 0xdb:
        return this.readString(this.u32());
      case 0xdc:
        return this.openArray(this.u16());
      case 0xdd:
        return this.openArray(this.u32());
      case 0xde:
        return this.openMap(this.u16());
      case 0xdf:
        return this.openMap(this.u32());
      default:
        throw invalid(`Unrecognized type byte: 0x${head.toString(16).padStart(2, "0")}`);
    }
  }

  private openArray(size: number): boolean {
    if (size === 0) return this.done([]);
    // Each element takes at least one byte and one value: refuse what cannot fit before allocating.
    this.need(size);
    this.reserve(size);
    this.push({ level: Level.Array, array: new Array(size), map: undefined, size, filled: 0, key: undefined, start: 0, end: 0 });
    return false;
  }

  private openMap(size: number): boolean {
    if (size === 0) return this.done({});
    this.need(size * 2);
    this.reserve(size * 2);
    this.push({ level: Level.Map, array: undefined, map: {}, size, filled: 0, key: undefined, start: 0, end: 0 });
    return false;
  }

  private readString(length: number): boolean {
    this.need(length);
    const start = this.pos;
    if (length <= SHORT_STRING_BYTES) {
      const ascii = asciiString(this.bytes, start, length);
      this.pos += length;
      return this.done(ascii ?? utf8.decode(this.bytes.subarray(start, start + length)));
    }
    if (length <= STRING_PIECE_BYTES) {
      this.pos += length;
      return this.done(utf8.decode(this.bytes.subarray(start, start + length)), Math.floor(length / BYTES_PER_UNIT));
    }
    this.longString = { decoder: new TextDecoder(), end: start + length, text: "" };
    return false;
  }

  /** Decodes up to `piece` more bytes of the long string; true when it is complete. */
  private continueString(piece: number): boolean {
    const string = this.longString!;
    const to = this.pos + piece;
    const last = to >= string.end;
    string.text += string.decoder.decode(this.bytes.subarray(this.pos, Math.min(to, string.end)), { stream: !last });
    this.pos = Math.min(to, string.end);
    return last;
  }

  private takeLongString(): string {
    const text = this.longString!.text;
    this.longString = null;
    return text;
  }

  private done(value: unknown, cost = 0): true {
    this.itemValue = value;
    this.itemCost = cost;
    return true;
  }

  private readBinary(length: number): boolean {
    this.need(length);
    const at = this.skip(length);
    return this.done(new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + at, length));
  }

  private readExtension(length: number): boolean {
    this.need(1);
    const type = this.view.getInt8(this.skip(1));
    if (!FRONTEND_EXTENSIONS.has(type)) throw refusedExtension(type);
    this.need(length);
    if (type === N_D_ARRAY) {
      // Read the payload in place, under the same budget; the codec builds the array afterwards.
      const start = this.pos;
      this.push({ level: Level.NdArray, array: undefined, map: undefined, size: 1, filled: 0, key: undefined, start, end: start + length });
      this.end = start + length;
      return false;
    }
    const at = this.skip(length);
    const data = new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + at, length);
    // Typed arrays are views unless misaligned (then one copy): charge the copy.
    return this.done(decodeExtension(data, type), Math.floor(length / (BYTES_PER_UNIT * 16)));
  }

  // ---- placing values into their containers -----------------------------

  /** Puts a finished value into the innermost open container; true when the frame's value is complete. */
  private place(value: unknown): boolean {
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (!top) {
        this.result = value;
        return true;
      }
      switch (top.level) {
        case Level.Array:
          top.array![top.filled++] = value;
          if (top.filled < top.size) return false;
          value = top.array;
          break;
        case Level.Map:
          if (top.key === undefined) {
            top.key = mapKey(value);
            return false;
          }
          top.map![top.key] = value;
          top.key = undefined;
          if (++top.filled < top.size) return false;
          value = top.map;
          break;
        case Level.NdArray:
          if (this.pos !== top.end) {
            throw new ProtocolError(`extension 99 (N-d array): ${top.end - this.pos} byte(s) of trailing garbage in its payload`);
          }
          value = ndArrayFromPayload(value);
          break;
      }
      this.stack.pop();
      if (top.level === Level.NdArray) this.end = this.innermostEnd();
    }
  }

  private finish(): void {
    if (this.pos < this.bytes.byteLength) {
      throw invalid(`${this.bytes.byteLength - this.pos} byte(s) of trailing garbage after the msgpack value`);
    }
    this.complete = true;
  }

  private push(frame: Frame): void {
    if (this.stack.length >= this.budget.maxDepth) {
      throw new ProtocolError(`the frame nests arrays, maps and extensions deeper than ${this.budget.maxDepth} levels (limit maxFrameDepth)`);
    }
    this.stack.push(frame);
  }

  private innermostEnd(): number {
    for (let i = this.stack.length - 1; i >= 0; i--) {
      if (this.stack[i]!.level === Level.NdArray) return this.stack[i]!.end;
    }
    return this.bytes.byteLength;
  }

  // ---- budget and bounds --------------------------------------------------

  private count(n: number): void {
    this.objects += n;
    if (this.objects > this.budget.maxObjects) throw this.tooManyObjects();
  }

  /** Refuses a container whose elements could not all fit in the object budget. */
  private reserve(n: number): void {
    if (this.objects + n > this.budget.maxObjects) throw this.tooManyObjects();
  }

  private tooManyObjects(): ProtocolError {
    return new ProtocolError(`the frame holds more than ${this.budget.maxObjects} msgpack values (limit maxFrameObjects)`);
  }

  /** Checks that `n` more bytes exist in the current region; returns true for use in expressions. */
  private need(n: number): true {
    if (n > this.end - this.pos) {
      if (this.stack.some((frame) => frame.level === Level.NdArray)) {
        throw new ProtocolError("extension 99 (N-d array) payload is not valid msgpack: truncated");
      }
      throw invalid(`truncated: the msgpack value runs past the end of its ${this.bytes.byteLength} bytes`);
    }
    return true;
  }

  /** Advances past `n` bytes (already checked) and returns where they start. */
  private skip(n: number): number {
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }

  private u16(): number {
    this.need(2);
    return this.view.getUint16(this.skip(2));
  }

  private u32(): number {
    this.need(4);
    return this.view.getUint32(this.skip(4));
  }
}

/** A short string's characters when all its bytes are ASCII; null otherwise. */
function asciiString(bytes: Uint8Array, start: number, length: number): string | null {
  let text = "";
  for (let i = start; i < start + length; i++) {
    const byte = bytes[i]!;
    if (byte >= 0x80) return null;
    text += String.fromCharCode(byte);
  }
  return text;
}

function mapKey(key: unknown): string | number {
  if (typeof key !== "string" && typeof key !== "number") {
    throw invalid(`The type of key must be string or number but ${key === null ? "null" : typeof key}`);
  }
  if (key === "__proto__") throw invalid("The key __proto__ is not allowed");
  return key;
}

/** Builds an accepted extension's value with Bonito's codec (typed arrays are views, not copies). */
function decodeExtension(data: Uint8Array, type: number): unknown {
  try {
    return extensionCodec.decode(data, type, undefined);
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    const name = FRONTEND_EXTENSIONS.get(type);
    throw new ProtocolError(`extension ${type} (${name}): ${error instanceof Error ? error.message : String(error)}`);
  }
}

function refusedExtension(type: number): ProtocolError {
  const serverOnly = SERVER_ONLY_EXTENSIONS.get(type);
  const what = serverOnly ? `extension ${type} (${serverOnly}) is server-only` : `extension type ${type} is unknown`;
  return new ProtocolError(
    `${what}: a frontend may send only typed arrays (0x11–0x18), N-d arrays (99) and timestamps (-1)`,
  );
}

function invalid(reason: string): ProtocolError {
  return new ProtocolError(`not valid msgpack: ${reason}`);
}
