/**
 * The one-byte header that starts every data-channel message, and the
 * control messages (close, its answer, heartbeat) that consist of little more than it.
 *
 * Layout of the header byte:
 *
 *     bit  7 6 | 5 4 3 2 1 0
 *          ver | kind
 *
 * - `ver` (2 bits): format version. Only 0 exists. A receiver rejects any
 *   other version, so a future, incompatible layout (for example data
 *   messages that carry a sequence number right after the header byte) can
 *   take version 1 without being misread by an old peer.
 * - `kind` (6 bits): what the payload is, see {@link Kind}. Kind 0 is never
 *   valid, so a zeroed buffer is caught as garbage rather than read as data.
 *
 * Kinds and their payloads:
 *
 * - 1 `DATA_MORE`: a fragment of a frame; more of the same frame follow.
 * - 2 `DATA_LAST`: the last (or only) fragment of a frame.
 * - 3 `CLOSE`: UTF-8 reason; the sender is closing the channel.
 * - 4 `HEARTBEAT`: empty (any payload is ignored).
 * - 7 `BATCH`: several whole frames in one message, so that a burst of small
 *   frames costs one data-channel message instead of one each. The payload
 *   is one or more entries, each `[length][frame bytes]`, back to back up to
 *   the end of the message; `length` is the frame's size in bytes as an
 *   unsigned LEB128 varint (7 bits per byte, least significant group first,
 *   high bit set on every byte but the last; at most 5 bytes, value
 *   < 2^32). A frame of 0..127 bytes costs one length byte, up to 16383
 *   bytes two. Entries are whole frames in send order: a frame never spans
 *   two messages inside a batch (large frames travel as DATA_MORE/DATA_LAST
 *   as before), and a BATCH never arrives between the fragments of a frame.
 *   Each entry is checked against the maximum frame size. A receiver
 *   rejects with a FramingError a batch with no entry, a length that runs
 *   past the end of the message or is cut off, a length of more than 5
 *   bytes or ≥ 2^32, and a batch inside a fragmented frame. Senders use it
 *   only for two or more frames (one frame goes as DATA_LAST, one byte
 *   shorter); receivers accept a batch of one.
 * - 8 `CLOSE_ACK`: empty; the answer to CLOSE. Its sender has received the
 *   peer's CLOSE (so every frame sent before it), has sent the frames it had
 *   accepted, and sends nothing more; the peer that sent CLOSE may now close
 *   the data channel without cutting anything off (see framed-channel.ts).
 *
 * Reserved for the resume step (a broken link resumes without loss or
 * duplicates): kind 5 `ACK` (payload: the sequence number of the last whole
 * frame received, so the sender can drop what it keeps for replay) and kind
 * 6 `RESUME` (payload: session token plus last sequence number received).
 * Kinds 5, 6 and 9..63 are unknown today and rejected with a FramingError,
 * so a peer that sends them to an old peer fails loudly instead of silently.
 */

import { BonitoError } from "../../core/errors.js";

/** Format version written into every header (top two bits). */
export const FORMAT_VERSION = 0;

/** Size of the header in bytes; every message is header + payload. */
export const HEADER_SIZE = 1;

/** Message kinds (low six bits of the header byte). */
export const Kind = {
  /** A fragment of a frame; more fragments of the same frame follow. */
  DATA_MORE: 1,
  /** The last (or only) fragment of a frame. */
  DATA_LAST: 2,
  /** The sender is closing the channel; payload is a UTF-8 reason. */
  CLOSE: 3,
  /** Liveness signal; payload is empty (reserved: receivers ignore it). */
  HEARTBEAT: 4,
  /** Several whole frames, each as [LEB128 length][bytes] (see the layout above). */
  BATCH: 7,
  /** The answer to CLOSE: everything before it arrived, nothing follows; payload empty. */
  CLOSE_ACK: 8,
} as const;

/** One of the {@link Kind} values. */
export type Kind = (typeof Kind)[keyof typeof Kind];

/** Longest CLOSE reason we send, in UTF-8 bytes (longer ones are cut). */
export const MAX_CLOSE_REASON_BYTES = 1024;

/** A malformed or unacceptable data-channel message; the channel must be closed. Code `framing-error`. */
export class FramingError extends BonitoError<"framing-error"> {
  constructor(message: string) {
    super("framing-error", message);
  }
}

/** Header byte for `kind` in the current format version. */
export function encodeHeader(kind: Kind): number {
  return (FORMAT_VERSION << 6) | kind;
}

/** Splits a header byte into version and kind, without validating either. */
export function decodeHeader(byte: number): { version: number; kind: number } {
  return { version: byte >> 6, kind: byte & 0x3f };
}

const textEncoder = new TextEncoder();

/**
 * A CLOSE message carrying `reason` (UTF-8). The reason is cut to
 * `maxReasonBytes` on a character boundary, so that the message always fits
 * into one data-channel message.
 */
export function encodeClose(reason: string, maxReasonBytes: number = MAX_CLOSE_REASON_BYTES): Uint8Array {
  const bytes = truncateUtf8(textEncoder.encode(reason), Math.max(0, maxReasonBytes));
  const message = new Uint8Array(HEADER_SIZE + bytes.length);
  message[0] = encodeHeader(Kind.CLOSE);
  message.set(bytes, HEADER_SIZE);
  return message;
}

/** A HEARTBEAT message (a fresh buffer each time: sent buffers are never reused). */
export function encodeHeartbeat(): Uint8Array {
  return Uint8Array.of(encodeHeader(Kind.HEARTBEAT));
}

/** A CLOSE_ACK message (a fresh buffer each time). */
export function encodeCloseAck(): Uint8Array {
  return Uint8Array.of(encodeHeader(Kind.CLOSE_ACK));
}

/** The longest prefix of `bytes` of at most `max` bytes that ends on a character boundary. */
function truncateUtf8(bytes: Uint8Array, max: number): Uint8Array {
  if (bytes.length <= max) return bytes;
  let end = max;
  // Back up over continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}
