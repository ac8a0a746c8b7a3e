/**
 * Transport: whole frames over a data channel (FramedChannel), and the
 * ChannelPort adapters that normalize each data-channel implementation.
 * Browser bundles should import framed-channel.js and browser-port.js
 * directly rather than this index, which also pulls in the werift adapter.
 */
export type { ChannelPort } from "./port.js";
export { FramedChannel, type FramedChannelOptions, type CloseInfo, type FrameHandler } from "./framed-channel.js";
export { wrapWeriftChannel } from "./werift-port.js";
export { guardDtlsRecordSequence } from "./werift-dtls.js";
export { wrapBrowserChannel } from "./browser-port.js";
