/**
 * The data-channel layer: whole frames over one data channel (FramedChannel), the framing it
 * puts on the wire, the ChannelPort interface each stack's adapter implements, and the
 * adapter for standard (W3C) data channels. Platform-free: the browser bundles use it as is.
 */
export type { ChannelPort, PortOptions } from "./port.js";
export { FramedChannel, type CloseInfo, type FrameHandler } from "./framed-channel.js";
export type { FramedChannelOptions } from "./channel-options.js";
export { wrapW3CChannel } from "./w3c-port.js";
export { FramingError } from "./header.js";
