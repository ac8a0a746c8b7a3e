/**
 * Frame compression, as Bonito v5 does it: all or nothing per session, no size threshold.
 * The server side sends gzip (Julia: `transcode(GzipCompressor, bytes)`), the frontend sends
 * zlib (`Pako.deflate`), and each side inflates with format autodetection (pako's default
 * `windowBits` gets +32; Julia's `GzipDecompressor` does the same), so either format is read.
 *
 * pako is pure JavaScript, so this runs unchanged in the browser.
 */
import { Deflate, Inflate } from "pako";
import { DEFAULT_MAX_FRAME_SIZE } from "../core/constants.js";
import { ProtocolError } from "./messages.js";
import { Slices, defaultSliceScheduler, type SliceScheduler } from "./slices.js";

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

/** A deflater for `total` input bytes that keeps its output, and the way to read it at the end. */
function collectingDeflater(total: number, gzip: boolean): { deflater: Deflate; result(): Uint8Array } {
  const deflater = new Deflate({ gzip, chunkSize: chunkSizeFor(total >> 1) });
  const chunks: Uint8Array[] = [];
  let size = 0;
  deflater.onData = (chunk) => {
    const bytes = chunk as Uint8Array;
    chunks.push(bytes);
    size += bytes.byteLength;
  };
  return {
    deflater,
    result() {
      if (deflater.err) throw new ProtocolError(`compression failed: ${deflater.msg || deflater.err}`);
      return join(chunks, size);
    },
  };
}

function totalBytes(parts: readonly Uint8Array[]): number {
  return parts.reduce((sum, part) => sum + part.byteLength, 0);
}

/** Compresses parts as one stream, so a frame assembled from pieces is never concatenated first. */
function compressParts(parts: readonly Uint8Array[], gzip: boolean): Uint8Array {
  const { deflater, result } = collectingDeflater(totalBytes(parts), gzip);
  parts.forEach((part, i) => deflater.push(part, i === parts.length - 1));
  if (parts.length === 0) deflater.push(new Uint8Array(0), true);
  return result();
}

/** Input compressed per step by {@link gzipInSlices}: a few milliseconds of deflate. */
const DEFLATE_INPUT_PER_STEP = 128 * 1024;

/**
 * gzip, as {@link gzip}, but a step of input at a time, giving the thread back between
 * slices: how a server compresses a large frame without stalling its other sessions. The
 * output is byte for byte what {@link gzip} makes of the same input.
 */
export async function gzipInSlices(parts: Uint8Array | readonly Uint8Array[], scheduler: SliceScheduler = defaultSliceScheduler): Promise<Uint8Array> {
  const list = parts instanceof Uint8Array ? [parts] : parts;
  const total = totalBytes(list);
  const { deflater, result } = collectingDeflater(total, true);
  const slices = new Slices(scheduler, Infinity);
  let left = total;
  for (const part of list) {
    for (let at = 0; at < part.byteLength; at += DEFLATE_INPUT_PER_STEP) {
      const piece = part.subarray(at, at + DEFLATE_INPUT_PER_STEP);
      left -= piece.byteLength;
      deflater.push(piece, left === 0);
      if (slices.due) await slices.pause();
    }
  }
  if (total === 0) deflater.push(new Uint8Array(0), true);
  return result();
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
 * Inflates gzip or zlib (autodetected) a piece of input at a time, so a caller can spread a
 * large frame over several turns of the event loop, and stops as soon as the output passes
 * `maxBytes` (a bomb costs at most one piece of work past the limit). Throws ProtocolError
 * when the bytes are neither format, are corrupt or truncated, or have bytes after the end of
 * the stream. Concatenated gzip members are accepted (RFC 1952 allows them).
 */
export class Inflater {
  private readonly format: "gzip" | "zlib";
  private chunks: Uint8Array[] = [];
  private size = 0;
  private stream: Inflate;
  /** Next input byte to feed. */
  private at = 0;

  constructor(
    private bytes: Uint8Array,
    private readonly maxBytes: number,
  ) {
    const format = compressionFormat(bytes);
    if (format === null) {
      const head = Array.from(bytes.subarray(0, 2), (b) => b.toString(16).padStart(2, "0")).join(" ");
      throw new ProtocolError(
        `compression is enabled but the frame is neither gzip nor zlib (${bytes.byteLength} bytes, starting ${head || "with nothing"})`,
      );
    }
    this.format = format;
    this.stream = this.startStream();
  }

  /** Bytes inflated so far. */
  get inflatedBytes(): number {
    return this.size;
  }

  /**
   * Feeds up to `inputBytes` more compressed bytes. Returns true once the whole input has
   * been inflated (then read {@link chunks}). Deflate expands at most ~1032×, which bounds
   * the work of one call.
   */
  step(inputBytes: number): boolean {
    try {
      return this.feed(inputBytes);
    } catch (error) {
      // The error's stack trace keeps this inflater reachable as long as the error lives:
      // let go of the input and of everything inflated so far.
      this.chunks = [];
      this.bytes = new Uint8Array(0);
      throw error;
    }
  }

  private feed(inputBytes: number): boolean {
    const { bytes, format } = this;
    const end = Math.min(this.at + inputBytes, bytes.byteLength);
    try {
      this.stream.push(bytes.subarray(this.at, end), end === bytes.byteLength);
    } catch (error) {
      if (error instanceof ProtocolError) throw error;
      throw new ProtocolError(`${format} frame is corrupt: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (this.stream.err) {
      throw new ProtocolError(`${format} frame is corrupt or truncated: ${this.stream.msg || `zlib error ${this.stream.err}`}`);
    }
    this.at = end;
    if (streamEnded(this.stream)) {
      // pako stops at the end of a stream and leaves what follows it unread.
      const streamEnd = end - unreadInput(this.stream);
      if (streamEnd < bytes.byteLength) {
        // RFC 1952 allows gzip members back to back; a zlib stream must be the whole frame.
        if (format !== "gzip" || compressionFormat(bytes.subarray(streamEnd)) !== "gzip") {
          throw new ProtocolError(`${bytes.byteLength - streamEnd} byte(s) of trailing garbage after the ${format} stream`);
        }
        this.stream = this.startStream();
        this.at = streamEnd;
      }
    }
    if (this.at < bytes.byteLength) return false;
    if (!streamEnded(this.stream)) throw new ProtocolError(`${format} frame is corrupt or truncated: the stream ends early`);
    return true;
  }

  /** The inflated bytes, in the pieces they were produced in (once {@link step} returned true). */
  get output(): { chunks: readonly Uint8Array[]; size: number } {
    return { chunks: this.chunks, size: this.size };
  }

  private startStream(): Inflate {
    const stream = new Inflate({ chunkSize: chunkSizeFor(this.bytes.byteLength * 4) });
    stream.onData = (chunk) => {
      const data = chunk as Uint8Array;
      this.size += data.byteLength;
      // Thrown through pako's push: stops inflating at once instead of after the whole bomb.
      if (this.size > this.maxBytes) throw new ProtocolError(`${this.format} frame inflates past maxFrameSize (${this.maxBytes} bytes)`);
      this.chunks.push(data);
    };
    return stream;
  }
}

/** Whether pako reached the end of the stream (or failed; `err` tells which). */
function streamEnded(stream: Inflate): boolean {
  return (stream as unknown as { ended: boolean }).ended;
}

/** Input bytes pako has not consumed (what follows the end of a stream). */
function unreadInput(stream: Inflate): number {
  return (stream as unknown as { strm: { avail_in: number } }).strm.avail_in;
}

/**
 * Inflates gzip or zlib (autodetected) at once; see {@link Inflater} for what is refused.
 * `maxBytes` bounds the output (default: the largest frame).
 */
export function inflate(bytes: Uint8Array, maxBytes: number = DEFAULT_MAX_FRAME_SIZE): Uint8Array {
  const inflater = new Inflater(bytes, maxBytes);
  while (!inflater.step(bytes.byteLength));
  const { chunks, size } = inflater.output;
  return join([...chunks], size);
}
