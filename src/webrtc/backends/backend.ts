/** What every Node WebRTC stack provides to the shared negotiation and framing code. */
import type { ChannelPort, PortOptions } from "../channel/port.js";
import type { DataChannelLike, PeerConnectionLike } from "../negotiation.js";
import type { IceServer, IceTransportPolicy } from "../options.js";
import type { Logger } from "../../core/logger.js";

/** The Node WebRTC stacks we support. */
export type BackendName = "werift" | "node-datachannel";

/** Every backend name, in order of preference (the first is the default). */
export const BACKEND_NAMES: readonly BackendName[] = ["werift", "node-datachannel"];

/** The default stack: pure JavaScript, always installed. */
export const DEFAULT_BACKEND: BackendName = "werift";

/** How {@link WebRTCBackend.createPeerConnection} configures a peer connection beyond its ICE servers. */
export interface PeerConnectionOptions {
  policy?: IceTransportPolicy;
  logger?: Logger;
}

/** A WebRTC stack behind the shared negotiation and framing code. */
export interface WebRTCBackend {
  readonly name: BackendName;
  /**
   * The `a=setup` an answerer should put in its answer when this backend offers (offers
   * always say `actpass`): the DTLS role that this stack handles without a lost first flight.
   */
  readonly answerSetup: "active" | "passive";
  /**
   * A peer connection configured for our one data channel: no STUN server unless given,
   * loopback reachable on a host without another interface. `policy` (default `"all"`)
   * restricts ICE to relays; `logger` (default `console`) hears what the stack cannot throw,
   * such as a werift version its workarounds were not tested with.
   */
  createPeerConnection(iceServers: IceServer[], options?: PeerConnectionOptions): PeerConnectionLike;
  /**
   * The data channel as the port a FramedChannel drives; closing the port closes `pc` too.
   * Wrap it as soon as the channel exists (negotiation's `onChannel`): the port holds what
   * arrives before `open`.
   */
  wrapChannel(channel: DataChannelLike, pc: PeerConnectionLike, options?: PortOptions): ChannelPort;
  /** Release what `createPeerConnection` made when negotiation failed. */
  closePeerConnection(pc: PeerConnectionLike): void;
}
