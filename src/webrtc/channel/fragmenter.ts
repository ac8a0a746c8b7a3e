/**
 * Splits a frame (one Bonito message, any size) into data-channel messages
 * no larger than the channel allows.
 */
import { HEADER_SIZE, Kind, encodeHeader } from "./header.js";

/**
 * Yields the messages of `frame`, each ≤ `maxMessageSize` bytes including
 * the header, created one at a time so a caller that sends them as it goes
 * holds only what is in flight. Every message is a new buffer: stacks such
 * as werift keep a reference to what was sent, so nothing may be reused.
 * An empty frame gives one DATA_LAST message with no payload.
 * The caller must not modify `frame` until the iteration has finished.
 */
export function* iterateFragments(frame: Uint8Array, maxMessageSize: number): Generator<Uint8Array, void, undefined> {
  const chunk = payloadCapacity(maxMessageSize);
  let offset = 0;
  do {
    const end = Math.min(frame.length, offset + chunk);
    const message = new Uint8Array(HEADER_SIZE + (end - offset));
    message[0] = encodeHeader(end < frame.length ? Kind.DATA_MORE : Kind.DATA_LAST);
    message.set(frame.subarray(offset, end), HEADER_SIZE);
    offset = end;
    yield message;
  } while (offset < frame.length);
}

/** All messages of `frame` at once (see {@link iterateFragments}). */
export function fragmentFrame(frame: Uint8Array, maxMessageSize: number): Uint8Array[] {
  return [...iterateFragments(frame, maxMessageSize)];
}

/** Number of messages `fragmentFrame` produces for a frame of `frameLength` bytes. */
export function fragmentCount(frameLength: number, maxMessageSize: number): number {
  return Math.max(1, Math.ceil(frameLength / payloadCapacity(maxMessageSize)));
}

/** Payload bytes per message; `Infinity` means "no limit". */
function payloadCapacity(maxMessageSize: number): number {
  if (maxMessageSize === Infinity) return Infinity;
  if (!Number.isInteger(maxMessageSize) || maxMessageSize <= HEADER_SIZE) {
    throw new RangeError(`maxMessageSize must be an integer > ${HEADER_SIZE}, got ${maxMessageSize}`);
  }
  return maxMessageSize - HEADER_SIZE;
}
