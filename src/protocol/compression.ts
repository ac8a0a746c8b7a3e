/**
 * Frame compression, as Bonito v5 does it: all or nothing per session, no size threshold.
 * The server side sends gzip (Julia: `transcode(GzipCompressor, bytes)`), the frontend sends
 * zlib (`Pako.deflate`), and each side inflates with format autodetection (pako's default
 * `windowBits` gets +32; Julia's `GzipDecompressor` does the same), so either format is read.
 *
 * pako is pure JavaScript, so this runs unchanged in the browser.
 */
import { Deflate, Inflate } from "pako";
import { ProtocolError } from "./messages.js";

/** The default bound on an inflated frame: protects against a small frame that inflates to gigabytes. */
export const DEFAULT_MAX_INFLATED_BYTES = 1 << 30;

/** Which compressed format `bytes` starts with, judged from its header; null for neither. */
export function compressionFormat(bytes: Uint8Array): "gzip" | "zlib" | null {
  if (bytes.byteLength < 2) return null;
  const [b0, b1] = [bytes[0]!, bytes[1]!];
  if (b0 === 0x1f && b1 === 0x8b) return "gzip";
  // RFC 1950: method 8 (deflate), window ≤ 32 KiB, and the 16-bit header is a multiple of 31.
  if ((b0 & 0x0f) === 8 && b0 >> 4 <= 7 && ((b0 << 8) | b1) % 31 === 0) return "zlib";
  return null;
}

/** Output chunk size: large enough that big frames are not cut into thousands of pieces. */
function chunkSizeFor(inputBytes: number): number {
  return Math.min(Math.max(inputBytes, 1 << 16), 1 << 22);
}

/** Joins chunks into one array; a lone chunk is kept unless it would pin a much larger buffer. */
function join(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) {
    const only = chunks[0]!;
    return only.byteLength * 2 >= only.buffer.byteLength ? only : only.slice();
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Compresses parts as one stream, so a frame assembled from pieces is never concatenated first. */
function compressParts(parts: readonly Uint8Array[], gzip: boolean): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.byteLength, 0);
  const deflater = new Deflate({ gzip, chunkSize: chunkSizeFor(total >> 1) });
  const chunks: Uint8Array[] = [];
  let size = 0;
  deflater.onData = (chunk) => {
    const bytes = chunk as Uint8Array;
    chunks.push(bytes);
    size += bytes.byteLength;
  };
  parts.forEach((part, i) => deflater.push(part, i === parts.length - 1));
  if (parts.length === 0) deflater.push(new Uint8Array(0), true);
  if (deflater.err) throw new ProtocolError(`compression failed: ${deflater.msg || deflater.err}`);
  return join(chunks, size);
}

/** gzip, as Bonito's server sends. Accepts the frame as several parts. */
export function gzip(parts: Uint8Array | readonly Uint8Array[]): Uint8Array {
  return compressParts(parts instanceof Uint8Array ? [parts] : parts, true);
}

/** zlib (`pako.deflate`), as Bonito's browser sends. Accepts the frame as several parts. */
export function zlibDeflate(parts: Uint8Array | readonly Uint8Array[]): Uint8Array {
  return compressParts(parts instanceof Uint8Array ? [parts] : parts, false);
}

/**
 * Inflates gzip or zlib (autodetected). Throws ProtocolError when the bytes are neither, are
 * corrupt or truncated, have bytes after the end of the stream, or inflate past `maxBytes`.
 * Concatenated gzip members are accepted (RFC 1952 allows them).
 */
export function inflate(bytes: Uint8Array, maxBytes: number = DEFAULT_MAX_INFLATED_BYTES): Uint8Array {
  const format = compressionFormat(bytes);
  if (format === null) {
    const head = Array.from(bytes.subarray(0, 2), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new ProtocolError(
      `compression is enabled but the frame is neither gzip nor zlib (${bytes.byteLength} bytes, starting ${head || "with nothing"})`,
    );
  }
  const inflater = new Inflate({ chunkSize: chunkSizeFor(bytes.byteLength * 4) });
  const chunks: Uint8Array[] = [];
  let size = 0;
  inflater.onData = (chunk) => {
    const data = chunk as Uint8Array;
    size += data.byteLength;
    // Thrown through pako's push: stops inflating at once instead of after the whole bomb.
    if (size > maxBytes) throw new ProtocolError(`${format} frame inflates past the ${maxBytes}-byte limit`);
    chunks.push(data);
  };
  try {
    inflater.push(bytes, true);
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    throw new ProtocolError(`${format} frame is corrupt: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (inflater.err) {
    throw new ProtocolError(`${format} frame is corrupt or truncated: ${inflater.msg || `zlib error ${inflater.err}`}`);
  }
  // pako stops at the end of a zlib stream and leaves what follows unread; it is not ours.
  const left = (inflater as unknown as { strm: { avail_in: number } }).strm.avail_in;
  if (left > 0) throw new ProtocolError(`${left} byte(s) of trailing garbage after the ${format} stream`);
  return join(chunks, size);
}
