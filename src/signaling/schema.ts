/**
 * The signaling protocol's messages, error codes and close codes, and a
 * hand-written validator for each direction. Shared by the server (Node) and
 * the client (browser and Node), so it must not use any Node API.
 * README.md (next to this file) is the prose version of this file; keep them in step.
 */
import { BonitoError } from "../core/errors.js";

/** Largest accepted signaling message: 64 KiB of UTF-8 text. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** Longest accepted `sessionId` and `token` strings. */
export const MAX_ID_LENGTH = 256;

/** Longest accepted `reason` (bye) and `message` (error) strings. */
export const MAX_REASON_LENGTH = 1024;

/** One ICE candidate, as in W3C `RTCIceCandidateInit`; `null` in a message means end of candidates. */
export interface CandidateInit {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
  usernameFragment?: string | null;
}

/** Frontend → server, first message: claim the room with its one-time token. */
export interface JoinMessage {
  type: "join";
  sessionId: string;
  token: string;
}

/** Server → frontend: the join was accepted; an `offer` follows. */
export interface JoinedMessage {
  type: "joined";
}

/** Server → frontend: the SDP offer (the server peer always offers). */
export interface OfferMessage {
  type: "offer";
  sdp: string;
}

/** Frontend → server: the SDP answer. */
export interface AnswerMessage {
  type: "answer";
  sdp: string;
}

/** Both ways: one trickled ICE candidate, or `null` for end of candidates. */
export interface CandidateMessage {
  type: "candidate";
  candidate: CandidateInit | null;
}

/** Both ways: the sender gives up on this negotiation. */
export interface ByeMessage {
  type: "bye";
  reason?: string;
}

/** Server → frontend: the last message before the server closes a refused socket. */
export interface ErrorMessage {
  type: "error";
  code: ErrorCode;
  message: string;
}

/** Every message a frontend may send. */
export type FrontendMessage = JoinMessage | AnswerMessage | CandidateMessage | ByeMessage;

/** Every message the server may send to a frontend. */
export type ServerMessage = JoinedMessage | OfferMessage | CandidateMessage | ByeMessage | ErrorMessage;

/** What the room owner (the in-process server peer) may send through its room. */
export type OwnerMessage = OfferMessage | CandidateMessage | ByeMessage;

/** What the room owner receives from the frontend after it joined. */
export type FrontendToOwnerMessage = AnswerMessage | CandidateMessage | ByeMessage;

/**
 * Stable error codes, each with the WebSocket close code the server uses right
 * after sending the `error` message. 1xxx are standard codes; 4xxx are ours.
 */
export const ERROR_CLOSE_CODES = {
  /** Text that is not JSON. */
  "bad-json": 1008,
  /** JSON that is not a valid message (not an object, missing or mistyped field). */
  "bad-message": 1008,
  /** A `type` the server does not accept from a frontend. */
  "unknown-type": 1008,
  /** A binary WebSocket message; the protocol is text only. */
  "binary-message": 1003,
  /** A message above MAX_MESSAGE_BYTES. */
  "too-large": 1009,
  /** A message other than `join` before the join succeeded. */
  "not-joined": 1008,
  /** A second `join` on an already joined socket. */
  "already-joined": 1008,
  /** The frontend sent messages faster than the room owner consumed them. */
  "too-many-messages": 1008,
  /** The token does not match the session's room. */
  "bad-token": 4001,
  /** The token matched but its time to live had passed. */
  "token-expired": 4002,
  /** The token matched but was already used by another join. */
  "token-used": 4003,
  /** No room exists for this session id. */
  "unknown-session": 4004,
  /** The room owner closed the room before anyone joined. */
  "room-closed": 4005,
  /** No `join` arrived in time after the socket opened. */
  "join-timeout": 4008,
  /** A joined room saw no message either way for too long. */
  "idle-timeout": 4009,
  /** The signaling server is shutting down. */
  "server-closing": 1001,
  /** A bug on the server side. */
  internal: 1011,
} as const;

/** One of the stable error codes. */
export type ErrorCode = keyof typeof ERROR_CLOSE_CODES;

/** Close code for a normal end: the room was closed by its owner or by a `bye`. */
export const CLOSE_NORMAL = 1000;

/** Outcome of validating a decoded message. */
export type ParseResult<T> =
  | { ok: true; message: T }
  | { ok: false; code: "bad-message" | "unknown-type"; message: string };

/** An error reported by the signaling server (or the client on its behalf), with its stable code. */
export class SignalingError extends BonitoError<ErrorCode | SignalingClientErrorCode> {}

/** Codes the signaling client reports on its own (the server's are in {@link ERROR_CLOSE_CODES}). */
export type SignalingClientErrorCode = "connect-failed" | "timeout" | "closed" | "bad-message";

/** Byte length of `text` once encoded as UTF-8, without allocating. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair is one code point of 4 bytes.
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Validate a decoded JSON value sent by a frontend. Unknown extra fields are ignored. */
export function parseFrontendMessage(value: unknown): ParseResult<FrontendMessage> {
  const record = asRecord(value);
  if (typeof record === "string") return bad(record);
  switch (record.type) {
    case "join": {
      const problem =
        checkString(record, "sessionId", MAX_ID_LENGTH, false) ??
        checkString(record, "token", MAX_ID_LENGTH, false);
      if (problem) return bad(problem);
      return ok({ type: "join", sessionId: record.sessionId as string, token: record.token as string });
    }
    case "answer":
      return parseSdp(record, "answer");
    case "candidate":
      return parseCandidateMessage(record);
    case "bye":
      return parseBye(record);
    default:
      return unknownType(record.type, ["join", "answer", "candidate", "bye"]);
  }
}

/** Validate a decoded JSON value sent by the server. Unknown extra fields are ignored. */
export function parseServerMessage(value: unknown): ParseResult<ServerMessage> {
  const record = asRecord(value);
  if (typeof record === "string") return bad(record);
  switch (record.type) {
    case "joined":
      return ok({ type: "joined" });
    case "offer":
      return parseSdp(record, "offer");
    case "candidate":
      return parseCandidateMessage(record);
    case "bye":
      return parseBye(record);
    case "error": {
      const problem =
        checkString(record, "code", MAX_ID_LENGTH, false) ??
        checkString(record, "message", MAX_REASON_LENGTH, true);
      if (problem) return bad(problem);
      // An unknown code from a newer server is still an error: keep it as given.
      return ok({ type: "error", code: record.code as ErrorCode, message: record.message as string });
    }
    default:
      return unknownType(record.type, ["joined", "offer", "candidate", "bye", "error"]);
  }
}

/** Validate a candidate object (not the message around it). */
export function parseCandidateInit(value: unknown): CandidateInit | string {
  if (!isPlainObject(value)) return "candidate must be a JSON object or null";
  const record = value;
  const problem = checkString(record, "candidate", MAX_MESSAGE_BYTES, true);
  if (problem) return `candidate.${problem}`;
  const sdpMid = record.sdpMid ?? null;
  if (sdpMid !== null && typeof sdpMid !== "string") return "candidate.sdpMid must be a string or null";
  const index = record.sdpMLineIndex ?? null;
  if (index !== null && !(Number.isInteger(index) && (index as number) >= 0 && (index as number) < 65536)) {
    return "candidate.sdpMLineIndex must be a non-negative integer or null";
  }
  // W3C addIceCandidate rejects a candidate that names neither.
  if (sdpMid === null && index === null) return "candidate needs sdpMid or sdpMLineIndex";
  const fragment = record.usernameFragment ?? null;
  if (fragment !== null && typeof fragment !== "string") {
    return "candidate.usernameFragment must be a string or null";
  }
  const result: CandidateInit = { candidate: record.candidate as string, sdpMid, sdpMLineIndex: index as number | null };
  if (fragment !== null) result.usernameFragment = fragment;
  return result;
}

function parseSdp<T extends "offer" | "answer">(record: Record<string, unknown>, type: T): ParseResult<{ type: T; sdp: string }> {
  const problem = checkString(record, "sdp", MAX_MESSAGE_BYTES, false);
  if (problem) return bad(problem);
  return ok({ type, sdp: record.sdp as string });
}

function parseCandidateMessage(record: Record<string, unknown>): ParseResult<CandidateMessage> {
  if (!("candidate" in record)) return bad("candidate is missing (use null for end of candidates)");
  if (record.candidate === null) return ok({ type: "candidate", candidate: null });
  const candidate = parseCandidateInit(record.candidate);
  if (typeof candidate === "string") return bad(candidate);
  return ok({ type: "candidate", candidate });
}

function parseBye(record: Record<string, unknown>): ParseResult<ByeMessage> {
  if (record.reason === undefined) return ok({ type: "bye" });
  const problem = checkString(record, "reason", MAX_REASON_LENGTH, true);
  if (problem) return bad(problem);
  return ok({ type: "bye", reason: record.reason as string });
}

/** The value as a plain object with a string `type`, or a description of why it is not one. */
function asRecord(value: unknown): Record<string, unknown> | string {
  if (!isPlainObject(value)) return "message must be a JSON object";
  if (typeof value.type !== "string") return "message needs a string field `type`";
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A description of what is wrong with `record[key]` as a string, or undefined if it is fine. */
function checkString(record: Record<string, unknown>, key: string, maxLength: number, allowEmpty: boolean): string | undefined {
  const value = record[key];
  if (value === undefined) return `${key} is missing`;
  if (typeof value !== "string") return `${key} must be a string`;
  if (!allowEmpty && value.length === 0) return `${key} must not be empty`;
  if (value.length > maxLength) return `${key} is longer than ${maxLength} characters`;
  return undefined;
}

function ok<T>(message: T): ParseResult<T> {
  return { ok: true, message };
}

function bad(message: string): { ok: false; code: "bad-message"; message: string } {
  return { ok: false, code: "bad-message", message };
}

function unknownType(type: unknown, allowed: string[]): { ok: false; code: "unknown-type"; message: string } {
  const shown = String(type).slice(0, 64);
  return { ok: false, code: "unknown-type", message: `unknown message type "${shown}" (expected one of ${allowed.join(", ")})` };
}
