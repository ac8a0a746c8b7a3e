/**
 * BATCH messages: several small whole frames in one data-channel message,
 * each entry `[LEB128 length][frame bytes]` (layout in header.ts).
 */
import { FramingError, HEADER_SIZE, Kind, encodeHeader } from "./header.js";

/** Longest length prefix we read: 5 LEB128 bytes hold any value < 2^35; we accept < 2^32. */
const MAX_LENGTH_BYTES = 5;

/** Bytes the LEB128 length prefix of a `length`-byte frame takes. */
export function varintSize(length: number): number {
  let size = 1;
  while (length >= 0x80) {
    length = Math.floor(length / 0x80);
    size++;
  }
  return size;
}

/** Bytes one frame of `length` bytes adds to a BATCH message (prefix + payload). */
export function batchEntrySize(length: number): number {
  return varintSize(length) + length;
}

/**
 * One BATCH message holding `frames` in order (a new buffer; the frames are
 * copied, so the caller may reuse them afterwards). The caller keeps it
 * within the channel's message size: its length is HEADER_SIZE plus the
 * sum of batchEntrySize over the frames.
 */
export function encodeBatch(frames: readonly Uint8Array[]): Uint8Array {
  let size = HEADER_SIZE;
  for (const frame of frames) size += batchEntrySize(frame.length);
  const message = new Uint8Array(size);
  message[0] = encodeHeader(Kind.BATCH);
  let offset = HEADER_SIZE;
  for (const frame of frames) {
    let length = frame.length;
    while (length >= 0x80) {
      message[offset++] = (length & 0x7f) | 0x80;
      length = Math.floor(length / 0x80);
    }
    message[offset++] = length;
    message.set(frame, offset);
    offset += frame.length;
  }
  return message;
}

/**
 * The frames of a BATCH payload (the message without its header byte), as
 * views into it (no copy). Throws FramingError on a malformed payload or an
 * entry larger than `maxFrameSize`.
 */
export function decodeBatch(payload: Uint8Array, maxFrameSize: number): Uint8Array[] {
  if (payload.length === 0) throw new FramingError("malformed batch: no entries");
  const frames: Uint8Array[] = [];
  let offset = 0;
  while (offset < payload.length) {
    let length = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (i === MAX_LENGTH_BYTES) {
        throw new FramingError(`malformed batch: length prefix longer than ${MAX_LENGTH_BYTES} bytes at offset ${offset}`);
      }
      if (offset >= payload.length) throw new FramingError("malformed batch: length prefix cut off at the end of the message");
      const byte = payload[offset++]!;
      length += (byte & 0x7f) * scale;
      scale *= 0x80;
      if ((byte & 0x80) === 0) break;
    }
    if (length > 0xffffffff) throw new FramingError(`malformed batch: entry length ${length} is not below 2^32`);
    if (length > maxFrameSize) {
      throw new FramingError(`frame exceeds the maximum frame size of ${maxFrameSize} bytes (at least ${length} bytes)`);
    }
    if (length > payload.length - offset) {
      throw new FramingError(
        `malformed batch: entry of ${length} bytes runs past the end of the message (${payload.length - offset} bytes left)`,
      );
    }
    frames.push(payload.subarray(offset, offset + length));
    offset += length;
  }
  return frames;
}
