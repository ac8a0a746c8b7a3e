/**
 * The frontend side of the WebRTC connection, shared by the browser (bundled as
 * `/bonito/webrtc.js` with the native RTCPeerConnection) and the Node frontend (werift).
 * Joins the signaling room, answers the server's offer, then runs the session over the
 * framed data channel; when that cannot connect and the server offers a fallback, it runs
 * the session over the WebSocket instead. It talks to the runtime only through
 * {@link BonitoContract}.
 */
import { connectSignaling, type WebSocketConstructor } from "../signaling/client.js";
import { SignalingError } from "../signaling/schema.js";
import { connectWebSocket, type WebSocketConstructor as GlueWebSocketConstructor } from "./websocket.js";
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
  /** Tell the server at once and stop, without waiting: for a page that is going away. */
  closeNow(reason: string): void;
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
  let negotiationStarted = false;
  try {
    signaling = await connectSignaling(config.signalingUrl, {
      sessionId: config.sessionId,
      token: config.token,
      WebSocket: platform.WebSocket,
      // Joining is one round trip; it gets its own bound so a short ICE timeout does not cut it.
      timeoutMs: Math.max(timeoutMs, DEFAULT_SIGNALING_JOIN_TIMEOUT_MS),
    });
    const peer = platform.createPeerConnection(config.iceServers, config.iceTransportPolicy);
    pc = peer;
    negotiationStarted = true;
    let port: ChannelPort | undefined;
    await negotiateAsAnswerer(peer, signaling, {
      timeoutMs,
      answererDtlsRole: config.answerSetup,
      // From the moment the channel is announced: the server may send right behind it.
      onChannel: (dataChannel) => (port = platform.wrapChannel(dataChannel, peer)),
      // The hold keeps our checks from reaching the server before it has our answer. Through
      // relays only they cannot: the server's relay forwards them only once the server added
      // our candidates, which follow the answer. Holding there only delays the permissions
      // the server's checks need (relayed setup: werift ~400 → ~80 ms, node-datachannel
      // ~215 → ~15–115 ms, measured through coturn on loopback).
      ...(config.iceTransportPolicy === "relay" ? { candidateHoldMs: 0, relayOnly: true } : {}),
    });
    channel = new FramedChannel(port!, config.channel);
  } catch (error) {
    if (pc) platform.closePeerConnection(pc);
    // A failure outside the negotiation (no RTCPeerConnection here) still tells the server why.
    if (signaling && !negotiationStarted) trySend(signaling, { type: "bye", reason: describe(error).slice(0, 512) });
    bonito.on_connection_close(describe(error));
    throw error;
  } finally {
    // Signaling is only for the negotiation; the channel does not need it.
    signaling?.close();
  }

  channel.onFrame((frame) => deliverFrame(bonito, frame, config.compression));
  // Closed for the runtime as soon as the channel stops (the close handshake goes on behind).
  void channel.ending.then((info) => bonito.on_connection_close(info.reason));
  bonito.set_transport?.("webrtc");
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
    closeNow(reason) {
      channel.closeNow(reason);
    },
  };
}

/** How a frontend that may fall back ended up connected. */
export interface FrontendSessionLink {
  /** `"webrtc"`, or `"websocket"` after a fallback. */
  readonly transport: "webrtc" | "websocket";
  /** Why and when it fell back, if it did: `afterMs` counts from the start of the attempt. */
  readonly fallback?: { reason: string; afterMs: number };
  /** Settles once when the connection has ended for good. */
  readonly closed: Promise<{ reason: string }>;
  /** Close cleanly (the server ends the session); resolves once the connection is down. */
  close(): Promise<void>;
  /** Tell the server at once and stop, without waiting: for a page that is going away. */
  closeNow(reason: string): void;
}

/**
 * Join the session over WebRTC, or, when that cannot connect and `config.fallback` names
 * the session's WebSocket, over that WebSocket: the runtime sees one connection, opened
 * once, and nothing it queued is lost or sent twice (it sends only once a connection is
 * open). Rejects when WebRTC fails without a fallback, or for a reason a fallback would not
 * cure (the signaling server refused the join: a wrong, used or expired token).
 */
export async function joinWebRTCSession(
  config: WebRTCFrontendConfig,
  bonito: BonitoContract,
  platform: WebRTCPlatform,
): Promise<FrontendSessionLink> {
  const fallback = config.fallback;
  if (!fallback) return webrtcLink(await connectWebRTCFrontend(config, bonito, platform));
  const startedAt = Date.now();
  // While WebRTC is being tried its failure must not reach the runtime as "closed".
  let trying = true;
  const attempt: BonitoContract = { ...bindContract(bonito), on_connection_close: (reason) => void (trying || bonito.on_connection_close(reason)) };
  try {
    const link = await connectWebRTCFrontend(config, attempt, platform);
    trying = false;
    return webrtcLink(link);
  } catch (error) {
    trying = false;
    if (!curedByFallback(error)) {
      bonito.on_connection_close(describe(error));
      throw error;
    }
    const reason = describe(error);
    bonito.set_transport?.("websocket", reason);
    return fallBack(fallback.url, reason, Date.now() - startedAt, config.compression, bonito, platform);
  }
}

/**
 * Run the session over the WebSocket at `url` after WebRTC failed for `reason`. Resolves
 * once the socket is open; rejects, naming both failures, if its first attempt fails too
 * (the WebSocket's own retries are for links that drop after opening).
 */
async function fallBack(
  url: string,
  reason: string,
  afterMs: number,
  compression: boolean,
  bonito: BonitoContract,
  platform: WebRTCPlatform,
): Promise<FrontendSessionLink> {
  let everOpened = false;
  let failed = false;
  let closedBy: string | undefined;
  let resolveOpened!: () => void;
  let rejectOpened!: (error: Error) => void;
  const opened = new Promise<void>((resolve, reject) => {
    resolveOpened = resolve;
    rejectOpened = reject;
  });
  let resolveClosed!: (info: { reason: string }) => void;
  const closed = new Promise<{ reason: string }>((resolve) => (resolveClosed = resolve));
  const failFirstAttempt = () => {
    failed = true;
    glue.close();
    const failure = new Error(`WebRTC could not connect (${reason}), and the WebSocket fallback did not connect either`);
    bonito.on_connection_close(failure.message);
    rejectOpened(failure);
  };
  const watched: BonitoContract = {
    ...bindContract(bonito),
    on_connection_open: (send, compressionEnabled, enablePings) => {
      everOpened = true;
      bonito.on_connection_open(send, compressionEnabled, enablePings);
      resolveOpened();
    },
    // Before the first open, a retry means the first attempt failed.
    on_connection_connecting: () => {
      if (everOpened) bonito.on_connection_connecting();
      else if (!failed) failFirstAttempt();
    },
    on_connection_close: (closeReason) => {
      if (failed) return;
      if (!everOpened) return failFirstAttempt();
      bonito.on_connection_close(closedBy ?? closeReason);
      resolveClosed({ reason: closedBy ?? `the server closed the WebSocket (the session fell back to it: ${reason})` });
    },
  };
  const glue = connectWebSocket(url, watched, { WebSocket: platform.WebSocket as unknown as GlueWebSocketConstructor, compression });
  await opened;
  return {
    transport: "websocket",
    fallback: { reason, afterMs },
    closed,
    async close() {
      closedBy ??= "closed by the frontend";
      glue.close();
      await closed;
    },
    closeNow(reason) {
      closedBy ??= reason;
      glue.close();
    },
  };
}

function webrtcLink(link: WebRTCFrontendLink): FrontendSessionLink {
  return {
    transport: "webrtc",
    closed: link.closed.then((info) => ({ reason: info.reason })),
    close: () => link.close(),
    closeNow: (reason) => link.closeNow(reason),
  };
}

/**
 * Whether the WebSocket can do what WebRTC could not: yes for a failed or timed-out
 * negotiation, a missing RTCPeerConnection and a signaling socket that broke or went quiet;
 * no when the signaling server refused the join (a wrong, used or expired token, a room
 * already closed: the session is not this frontend's to join).
 */
function curedByFallback(error: unknown): boolean {
  if (!(error instanceof SignalingError)) return true;
  return ["connect-failed", "timeout", "closed", "join-timeout", "idle-timeout"].includes(error.code);
}

/** The contract's members bound to `bonito`, so a wrapper can replace some of them. */
function bindContract(bonito: BonitoContract): BonitoContract {
  return {
    on_connection_open: bonito.on_connection_open.bind(bonito),
    on_connection_connecting: bonito.on_connection_connecting.bind(bonito),
    on_connection_close: bonito.on_connection_close.bind(bonito),
    lock_loading: bonito.lock_loading.bind(bonito),
    process_message: bonito.process_message.bind(bonito),
    decode_binary: bonito.decode_binary.bind(bonito),
    Sessions: bonito.Sessions,
    ...(bonito.set_transport ? { set_transport: bonito.set_transport.bind(bonito) } : {}),
  };
}

function trySend(signaling: { send(message: { type: "bye"; reason: string }): unknown }, message: { type: "bye"; reason: string }): void {
  try {
    signaling.send(message);
  } catch {
    // Signaling is going away; the server's negotiation times out instead.
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
