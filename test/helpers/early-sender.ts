/**
 * A frontend that sends its first data-channel messages *before* it acknowledges the
 * channel, as Firefox does: the server's channel is still `connecting` (no DCEP
 * DATA_CHANNEL_ACK yet) when they arrive. A deterministic stand-in for that behaviour,
 * so the guarantee "nothing sent before `open` is lost" is tested without Firefox.
 *
 * It is a raw werift answerer: it joins the signaling room and answers like any frontend,
 * but inside werift's `datachannel` event, which werift raises on the peer's DCEP OPEN
 * *before* it queues its ACK, it writes framed messages straight onto the channel. The
 * SCTP stream is ordered, so the server receives them before the ACK. The order really
 * put on the wire is recorded (`messagesBeforeAck`), so a test can check the scenario
 * happened instead of trusting it.
 */
import { WebSocket } from "ws";
import type { RTCDataChannel, RTCPeerConnection } from "werift";
import { connectSignaling, type WebSocketConstructor } from "../../src/signaling/index.js";
import { negotiateAsAnswerer, type PeerConnectionLike } from "../../src/webrtc/negotiation.js";
import { weriftBackend } from "../../src/webrtc/backends/werift/backend.js";
import { FramedChannel, type ChannelPort } from "../../src/webrtc/channel/index.js";
import { BonitoRuntime } from "../../src/frontend/runtime.js";
import { deliverFrame } from "../../src/frontend/contract.js";
import { fetchBootstrap } from "../../src/frontend/node/index.js";
import type { WebRTCBootstrap } from "../../src/webrtc/options.js";

/** SCTP payload protocol id of DCEP messages, and the DATA_CHANNEL_ACK message type (RFC 8832). */
const PPID_DCEP = 50;
const DCEP_ACK = 2;

export interface EarlySender {
  /** The session joined. */
  sessionId: string;
  /** How many early messages were written. */
  earlyMessages: number;
  /** How many of our data messages SCTP took before our DATA_CHANNEL_ACK. */
  messagesBeforeAck: number;
  /** The frontend's runtime after the channel opened: observables, status. */
  runtime: BonitoRuntime;
  /** The framed channel after it opened. */
  channel: FramedChannel;
  close(): Promise<void>;
}

/**
 * Join the session served at `url` and, before acknowledging the data channel, send the
 * data-channel messages `early(sessionId)` returns (already framed: header byte + payload).
 * Resolves once the channel is open on this side.
 */
export async function joinSendingBeforeAck(url: string, early: (sessionId: string) => Uint8Array[]): Promise<EarlySender> {
  const bootstrap = await fetchBootstrap(url);
  const connection = bootstrap.connection as unknown as WebRTCBootstrap;
  if (connection.type !== "webrtc") throw new Error(`the server offers ${connection.type}, not webrtc`);
  const signaling = await connectSignaling(connection.signalingUrl, {
    sessionId: bootstrap.sessionId,
    token: connection.token,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
  });
  const pc = weriftBackend.createPeerConnection([]) as unknown as RTCPeerConnection;
  const wire: Array<"data" | "ack"> = [];
  let earlyMessages = 0;
  pc.onDataChannel.subscribe((dc: RTCDataChannel) => {
    // Watch what werift hands to SCTP on this channel's stream, to report the order.
    const association = dc.sctp.sctp;
    const send = association.send;
    association.send = (streamId, ppId, userData, options) => {
      if (streamId === dc.id) wire.push(ppId === PPID_DCEP && userData[0] === DCEP_ACK ? "ack" : "data");
      return send(streamId, ppId, userData, options);
    };
    // Still inside werift's handling of the OPEN: its ACK is queued after we return.
    for (const message of early(bootstrap.sessionId)) {
      dc.send(Buffer.from(message));
      earlyMessages++;
    }
  });
  let channel: FramedChannel;
  try {
    let port: ChannelPort | undefined;
    await negotiateAsAnswerer(pc as unknown as PeerConnectionLike, signaling, {
      timeoutMs: 15_000,
      onChannel: (dc) => (port = weriftBackend.wrapChannel(dc, pc as unknown as PeerConnectionLike)),
    });
    channel = new FramedChannel(port!, connection.channel);
  } catch (error) {
    weriftBackend.closePeerConnection(pc as unknown as PeerConnectionLike);
    throw error;
  } finally {
    signaling.close();
  }
  const runtime = new BonitoRuntime();
  channel.onFrame((frame) => deliverFrame(runtime, frame, bootstrap.compression));
  void channel.closed.then(() => runtime.on_connection_close());
  // Sends nothing on its own: no session was initialized, so no second JSDoneLoading.
  runtime.on_connection_open((bytes) => {
    if (!channel.isOpen) return false;
    channel.write(bytes).catch(() => {});
    return true;
  }, bootstrap.compression, false);
  const ackAt = wire.indexOf("ack");
  return {
    sessionId: bootstrap.sessionId,
    earlyMessages,
    messagesBeforeAck: ackAt === -1 ? wire.length : ackAt,
    runtime,
    channel,
    async close() {
      await channel.close("closed by the early sender");
      runtime.dispose();
    },
  };
}
