/**
 * Framing: how one frame (a whole Bonito message) travels as data-channel
 * messages of bounded size, small frames packed together (BATCH), plus the
 * close and heartbeat control messages.
 * Platform-free (Uint8Array, TextEncoder/TextDecoder only): shared by the
 * Node side and the browser bundle.
 */
export {
  FORMAT_VERSION,
  HEADER_SIZE,
  Kind,
  MAX_CLOSE_REASON_BYTES,
  FramingError,
  encodeHeader,
  decodeHeader,
  encodeClose,
  encodeCloseAck,
  encodeHeartbeat,
} from "./header.js";
export { iterateFragments, fragmentFrame, fragmentCount } from "./fragmenter.js";
export { encodeBatch, decodeBatch, batchEntrySize, varintSize } from "./batch.js";
export { Reassembler, type FrameEvent } from "./reassembler.js";
