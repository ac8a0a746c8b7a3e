/**
 * Bonito v5's message vocabulary: the `msg_type` codes, the value types that travel as
 * msgpack extensions, the error every decoder throws, and the shape check applied to
 * every message that is encoded or decoded.
 *
 * Source of truth: Bonito.jl v5.0.0 `src/serialization/protocol.jl` (codes, what the
 * server reads), `js_dependencies/Connection.js` (what the browser sends and reads),
 * `src/session.jl` (what the server sends).
 */
import { BonitoError } from "../core/errors.js";

/** Any failure to encode or decode a frame; the message names the problem precisely. Code `protocol-error`. */
export class ProtocolError extends BonitoError<"protocol-error"> {
  constructor(message: string, options?: { cause?: unknown }) {
    super("protocol-error", message, options);
  }
}

/**
 * Message codes. Bonito sends them as msgpack *strings* ("0", not 0) to save bytes over
 * longer names. "5" (RegisterObservable) is declared by Bonito but never sent, so it is
 * left out and rejected like any unknown code.
 */
export const MessageType = {
  UpdateObservable: "0",
  OnjsCallback: "1",
  EvalJavascript: "2",
  JavascriptError: "3",
  JavascriptWarning: "4",
  JSDoneLoading: "8",
  FusedMessage: "9",
  CloseSession: "10",
  PingPong: "11",
  UpdateSession: "12",
  GetSessionDOM: "13",
} as const;

/** One of the string codes in {@link MessageType}. */
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

/** A Bonito message: a string-keyed map whose `msg_type` is a {@link MessageTypeCode}. */
export interface BonitoMessage {
  msg_type: MessageTypeCode;
  [key: string]: unknown;
}

const CODE_NAMES: ReadonlyMap<string, string> = new Map(
  Object.entries(MessageType).map(([name, code]) => [code, name]),
);

/** True when `code` is a known message code. */
export function isMessageTypeCode(code: unknown): code is MessageTypeCode {
  return typeof code === "string" && CODE_NAMES.has(code);
}

/** The readable name of a code (`"0"` → `"UpdateObservable"`), for error messages and logs. */
export function messageTypeName(code: MessageTypeCode): string {
  return CODE_NAMES.get(code) ?? code;
}

// ---------------------------------------------------------------------------------------
// Values carried by msgpack extensions (the codec itself lives in extensions.ts).

/** The interpolation table of a {@link JSCode}: Bonito sends a map keyed by string ids. */
export type Interpolated = unknown[] | Record<string, unknown>;

/**
 * JavaScript source to run on the frontend (extension 102). Bonito runs it as
 * `new Function("__lookup_interpolated", "Bonito", source)`; `__lookup_interpolated(id)`
 * returns `interpolated[id]`. Bonito's server sends a map of string ids; an array works
 * the same way for numeric ids.
 */
export class JSCode {
  /** @param file where the code came from, for error reports (Bonito: the Julia file). */
  constructor(
    readonly source: string,
    readonly interpolated: Interpolated = {},
    readonly file: string = "",
  ) {}
}

/**
 * An observable as it travels (extension 101): its id and current value. The frontend keeps
 * one observable per id; `UpdateObservable` messages then address it by `id`.
 */
export class ObservableRef {
  constructor(
    readonly id: string,
    readonly value: unknown,
  ) {}
}

/**
 * A reference to an object the frontend already holds in its cache (extension 104). Bonito's
 * server sends these in place of observables it has sent before (e.g. `OnjsCallback.obs`).
 */
export class CacheKey {
  constructor(readonly key: string) {}
}

/** The typed arrays that Bonito sends natively (extensions 0x11–0x18). */
export type BonitoTypedArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array;

/**
 * An N-dimensional array (extension 99): `size` lists the dimensions and `array` holds the
 * elements flat, in Julia's column-major order (first index fastest).
 */
export class NdArray {
  constructor(
    readonly size: readonly number[],
    readonly array: BonitoTypedArray,
  ) {}
}

/** How Bonito names a session in the cache and message headers. */
export type SessionType = "root" | "sub";

/**
 * The objects a server frame introduces to the frontend before its message refers to them
 * (extension 106). Bonito fills `objects` with the observables first serialized by this
 * message; decoding them is what registers them on the frontend.
 */
export class SessionCache {
  constructor(
    readonly sessionId: string,
    readonly sessionType: SessionType = "root",
    readonly objects: readonly unknown[] = [],
  ) {}
}

/**
 * A message bound to a session together with its cache (extension 107): the envelope of
 * every server → frontend frame. Bonito also nests these inside a FusedMessage's payload
 * (messages queued before the page was ready); they then decode to the bare message.
 */
export class SerializedMessage {
  constructor(
    readonly cache: SessionCache,
    readonly message: unknown,
  ) {}
}

// ---------------------------------------------------------------------------------------
// Shape check.

/** Messages may nest (FusedMessage, UpdateSession); past this depth the input is hostile. */
const MAX_MESSAGE_NESTING = 32;

/** True for a plain `{...}` object, which is what msgpack maps decode to. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A short description of a value's kind ("a map", "an Int8Array", "null"), for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") {
    const name = (value as object).constructor?.name;
    return name && name !== "Object" ? withArticle(name) : "a map";
  }
  return withArticle(typeof value);
}

function withArticle(noun: string): string {
  return `${/^[aeiou]/i.test(noun) ? "an" : "a"} ${noun}`;
}

type FieldCheck = (value: unknown, path: string, depth: number) => void;

const string: FieldCheck = (value, path) => {
  if (typeof value !== "string") throw new ProtocolError(`${path} must be a string, got ${describeValue(value)}`);
};

const boolean: FieldCheck = (value, path) => {
  if (typeof value !== "boolean") throw new ProtocolError(`${path} must be a boolean, got ${describeValue(value)}`);
};

const jsCode: FieldCheck = (value, path) => {
  if (!(value instanceof JSCode)) throw new ProtocolError(`${path} must be JSCode (extension 102), got ${describeValue(value)}`);
};

/** Present with any value, null included (Bonito sends `nothing` as nil). */
const present: FieldCheck = () => {};

/** Present and not nil: OnjsCallback's observable (ObservableRef or CacheKey). */
const observable: FieldCheck = (value, path) => {
  if (value === null || value === undefined) throw new ProtocolError(`${path} must name an observable, got ${describeValue(value)}`);
};

const messageList: FieldCheck = (value, path, depth) => {
  if (!Array.isArray(value)) throw new ProtocolError(`${path} must be an array of messages, got ${describeValue(value)}`);
  for (let i = 0; i < value.length; i++) checkMessage(value[i], `${path}[${i}]`, depth + 1);
};

/**
 * Required fields per message type, from what Bonito v5 sends and reads. Extra fields are
 * allowed (Bonito ignores them).
 */
const FIELDS: Record<MessageTypeCode, Record<string, FieldCheck>> = {
  [MessageType.UpdateObservable]: { id: string, payload: present },
  [MessageType.OnjsCallback]: { obs: observable, payload: jsCode },
  [MessageType.EvalJavascript]: { payload: jsCode },
  [MessageType.JavascriptError]: { message: string, exception: string, stacktrace: string },
  [MessageType.JavascriptWarning]: { message: string },
  [MessageType.JSDoneLoading]: { session: string, message: string, exception: string, stacktrace: string },
  [MessageType.FusedMessage]: { payload: messageList },
  [MessageType.CloseSession]: { session: string, subsession: string },
  [MessageType.PingPong]: {},
  [MessageType.UpdateSession]: {
    session_id: string,
    messages: messageList,
    html: present,
    replace: boolean,
    dom_node_selector: string,
  },
  [MessageType.GetSessionDOM]: { session: string, replace: string },
};

function checkMessage(value: unknown, path: string, depth: number): asserts value is BonitoMessage {
  if (depth > MAX_MESSAGE_NESTING) {
    throw new ProtocolError(`${path}: messages nested deeper than ${MAX_MESSAGE_NESTING} levels`);
  }
  // Encoding side: an envelope stands for its message (it decodes to the bare message).
  if (value instanceof SerializedMessage) return checkMessage(value.message, `${path}.message`, depth + 1);
  if (!isPlainObject(value)) throw new ProtocolError(`${path} must be a map, got ${describeValue(value)}`);
  if (!Object.hasOwn(value, "msg_type")) throw new ProtocolError(`${path} has no msg_type`);
  const code = value.msg_type;
  if (typeof code !== "string") {
    throw new ProtocolError(`${path}.msg_type must be a string code, got ${describeValue(code)}${typeof code === "number" ? ` (${code})` : ""}`);
  }
  if (!isMessageTypeCode(code)) {
    // Clipped: the code comes from the peer and may be arbitrarily long.
    const shown = code.length > 40 ? `${code.slice(0, 40)}…` : code;
    throw new ProtocolError(`${path}.msg_type "${shown}" is not a known message type`);
  }
  const fields = FIELDS[code];
  for (const field in fields) {
    const fieldPath = `${path}.${field}`;
    if (!Object.hasOwn(value, field)) {
      throw new ProtocolError(`${fieldPath} is missing (required by ${messageTypeName(code)})`);
    }
    fields[field]!(value[field], fieldPath, depth);
  }
}

/**
 * Throws a {@link ProtocolError} unless `value` is a well-formed Bonito message: a map with
 * a known `msg_type` and the fields that type requires, checked recursively through
 * FusedMessage and UpdateSession. Payload values themselves are not inspected.
 */
export function validateMessage(value: unknown, path = "message"): asserts value is BonitoMessage {
  checkMessage(value, path, 0);
}
