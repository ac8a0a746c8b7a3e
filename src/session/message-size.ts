/**
 * About how many bytes a message will take once encoded, without encoding it: what a queued
 * message counts against a session's send queue limit before it is written. Typed arrays and
 * strings count their bytes, every other value a few; the walk stops as soon as the count
 * passes `stopAt` (or after a bounded number of values), so it is cheap for any message.
 */

/** Values looked at, at most, per message. */
const MAX_VALUES = 10_000;

/** Bytes a scalar, or a container's own header, counts. */
const VALUE_BYTES = 9;

/** An estimate of the encoded size of `message`, at most a little above `stopAt`. */
export function approximateBytes(message: unknown, stopAt: number): number {
  let bytes = 0;
  let seen = 0;
  const pending: unknown[] = [message];
  while (pending.length > 0 && bytes <= stopAt && seen < MAX_VALUES) {
    const value = pending.pop();
    seen++;
    if (typeof value === "string") bytes += VALUE_BYTES + value.length;
    else if (ArrayBuffer.isView(value)) bytes += VALUE_BYTES + value.byteLength;
    else if (value instanceof ArrayBuffer) bytes += VALUE_BYTES + value.byteLength;
    else if (Array.isArray(value)) {
      bytes += VALUE_BYTES;
      for (const item of value) pending.push(item);
    } else if (typeof value === "object" && value !== null) {
      bytes += VALUE_BYTES;
      for (const key in value) {
        bytes += key.length;
        pending.push((value as Record<string, unknown>)[key]);
      }
    } else bytes += VALUE_BYTES;
  }
  return bytes;
}
