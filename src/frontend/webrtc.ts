/**
 * The frontend side of the WebRTC connection, shared by the browser (bundled as
 * `/bonito/webrtc.js` with the native RTCPeerConnection) and the Node frontend (werift).
 * Joins the signaling room, answers the server's offer, then runs the session over the
 * framed data channel. It talks to the runtime only through {@link BonitoContract}.
 */
import { connectSignaling, type WebSocketConstructor } from "../signaling/client.js";
import { deliverFrame, type BonitoContract } from "./contract.js";
import { FramedChannel, type ChannelPort, type CloseInfo } from "../webrtc/channel/index.js";
import { negotiateAsAnswerer, type DataChannelLike, type PeerConnectionLike } from "../webrtc/negotiation.js";
import { DEFAULT_NEGOTIATION_TIMEOUT_MS, DEFAULT_SIGNALING_JOIN_TIMEOUT_MS } from "../core/constants.js";
import type { IceTransportPolicy, WebRTCBootstrap } from "../webrtc/options.js";

/** What the page (or Node) provides: its WebRTC and WebSocket implementations. */
export interface WebRTCPlatform {
  createPeerConnection(iceServers: WebRTCBootstrap["iceServers"], policy?: IceTransportPolicy): PeerConnectionLike;
  wrapChannel(channel: DataChannelLike, pc: PeerConnectionLike): ChannelPort;
  closePeerConnection(pc: PeerConnectionLike): void;
  WebSocket: WebSocketConstructor;
}

/** Everything the frontend needs: the bootstrap plus the session it joins. */
export interface WebRTCFrontendConfig extends Omit<WebRTCBootstrap, "type"> {
  sessionId: string;
  compression: boolean;
}

/** A connected WebRTC frontend. */
export interface WebRTCFrontendLink {
  /** Settles once when the data channel has ended. */
  readonly closed: Promise<CloseInfo>;
  /** Close cleanly (the server ends the session); resolves once the channel is down. */
  close(): Promise<void>;
}

/**
 * Connect `bonito` to its session over WebRTC. Resolves once the data channel is open and
 * the runtime has been told (`on_connection_open`); rejects with an error naming the
 * likely cause when signaling or ICE/DTLS fail, after telling the runtime it closed.
 */
export async function connectWebRTCFrontend(
  config: WebRTCFrontendConfig,
  bonito: BonitoContract,
  platform: WebRTCPlatform,
): Promise<WebRTCFrontendLink> {
  const timeoutMs = config.timeoutMs ?? DEFAULT_NEGOTIATION_TIMEOUT_MS;
  bonito.on_connection_connecting();
  let pc: PeerConnectionLike | undefined;
  let signaling: Awaited<ReturnType<typeof connectSignaling>> | undefined;
  let channel: FramedChannel;
  try {
    signaling = await connectSignaling(config.signalingUrl, {
      sessionId: config.sessionId,
      token: config.token,
      WebSocket: platform.WebSocket,
      // Joining is one round trip; it gets its own bound so a short ICE timeout does not cut it.
      timeoutMs: Math.max(timeoutMs, DEFAULT_SIGNALING_JOIN_TIMEOUT_MS),
    });
    pc = platform.createPeerConnection(config.iceServers, config.iceTransportPolicy);
    const dataChannel = await negotiateAsAnswerer(pc, signaling, { timeoutMs });
    channel = new FramedChannel(platform.wrapChannel(dataChannel, pc), config.channel);
  } catch (error) {
    if (pc) platform.closePeerConnection(pc);
    bonito.on_connection_close();
    throw error;
  } finally {
    // Signaling is only for the negotiation; the channel does not need it.
    signaling?.close();
  }

  channel.onFrame((frame) => deliverFrame(bonito, frame, config.compression));
  void channel.closed.then(() => bonito.on_connection_close());
  bonito.on_connection_open((bytes) => {
    // False makes the runtime keep the message queued instead of losing it.
    if (!channel.isOpen) return false;
    channel.write(bytes).catch(() => {
      // The channel closed under this write; the runtime hears it via `closed`.
    });
    return true;
  }, config.compression);

  return {
    closed: channel.closed,
    async close() {
      await channel.close("closed by the frontend");
    },
  };
}
