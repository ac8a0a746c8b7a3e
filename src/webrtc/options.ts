/** Options and defaults shared by the server-side WebRTC connection and its frontends. */
import type { FramedChannelOptions } from "./channel/index.js";

/** A STUN or TURN server, as in the W3C `RTCIceServer`. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/**
 * Which candidates ICE may use, as in the W3C `RTCIceTransportPolicy`: `"all"`, or `"relay"`
 * for TURN relays only (the peers' addresses stay hidden from each other, and traffic always
 * goes through the relay).
 */
export type IceTransportPolicy = "all" | "relay";

/** Largest data-channel message we advertise and send; werift's default of 64 KiB is kept as the fragment cap. */
export const ADVERTISED_MAX_MESSAGE_SIZE = 262_144;

/** What a frontend needs to join a WebRTC session: sent in the JSON bootstrap and embedded in the page. */
export interface WebRTCBootstrap {
  type: "webrtc";
  /** Absolute `ws://` or `wss://` URL of the signaling endpoint. */
  signalingUrl: string;
  /** One-time token for this session's negotiation. */
  token: string;
  /** STUN/TURN servers the frontend should use (empty on a LAN or loopback). */
  iceServers: IceServer[];
  /** Which candidates the frontend may use; absent means `"all"`. */
  iceTransportPolicy?: IceTransportPolicy;
  /** How long the frontend waits for ICE/DTLS before it gives up, in ms. */
  timeoutMs: number;
  /** Framing and liveness settings both sides must agree on. */
  channel: FramedChannelOptions;
  /**
   * Where to continue when WebRTC cannot connect: the session's WebSocket (absolute `ws://`
   * or `wss://` URL; in the page, a path relative to it). Absent with `fallback: false`.
   */
  fallback?: { url: string };
  /** The `a=setup` the frontend's answer should carry (the DTLS role the server's stack needs). */
  answerSetup?: "active" | "passive";
}
