/**
 * Bonito v5's wire protocol, shared by the Node host and the browser runtime: message codes
 * and shapes (messages.ts), msgpack extensions (extensions.ts), compression (compression.ts)
 * and whole frames in each direction (codec.ts).
 */
export {
  MessageType,
  ProtocolError,
  JSCode,
  ObservableRef,
  CacheKey,
  NdArray,
  SessionCache,
  SerializedMessage,
  isMessageTypeCode,
  messageTypeName,
  validateMessage,
  isPlainObject,
  describeValue,
  type MessageTypeCode,
  type BonitoMessage,
  type BonitoTypedArray,
  type Interpolated,
  type SessionType,
} from "./messages.js";
export {
  ExtensionTag,
  ExtData,
  extensionCodec,
  isBonitoTypedArray,
  pack,
  packPieces,
  encodeExtensionPayload,
  decodeExtensionPayload,
  concatBytes,
  decodeContext,
  unpack,
  unpackPlain,
  plainBytes,
  type CodecContext,
  type Gathered,
  type PackOptions,
} from "./extensions.js";
export { compressionFormat, gzip, gzipInSlices, zlibDeflate, inflate } from "./compression.js";
export { defaultSliceScheduler, type SliceHooks, type SliceScheduler } from "./slices.js";
export { DomNode, RawHtml, TrackingOnly } from "./rendering.js";
export {
  encodeServerFrame,
  encodeInitFrame,
  decodeServerFrame,
  decodeServerEnvelope,
  decodeInitFrame,
  encodeClientFrame,
  decodeClientFrame,
  decodeClientFrameInSlices,
  frameLimits,
  type FrameLimits,
  type ServerFrame,
  type InitFrame,
  type ServerFrameOptions,
  type DecodeOptions,
} from "./codec.js";
