/**
 * `WebRTCConnection`: a session carried over one ordered, reliable WebRTC data channel.
 * The server peer opens a signaling room for the session, offers once the frontend joins,
 * and from then on frames travel peer to peer; the signaling server shuts down when no
 * negotiation is pending, and the channel outlives it.
 */
import type { Server as HttpServer } from "node:http";
import { FrontendConnection, type ConnectionBootstrap, type ConnectionHost } from "../connection.js";
import type { Session } from "../session.js";
import { FramedChannel, type FramedChannelOptions } from "../transport/index.js";
import { SignalingServer, type Room } from "../../signaling/index.js";
import { negotiateAsOfferer, NegotiationError, DEFAULT_NEGOTIATION_TIMEOUT_MS, type PeerConnectionLike } from "./negotiation.js";
import { resolveBackend, type BackendName } from "./backends.js";
import type { WebRTCBackend } from "./werift-backend.js";
import type { IceServer, WebRTCBootstrap } from "./options.js";

export interface WebRTCConnectionOptions {
  /** STUN/TURN servers. Default `[]`: host candidates only (loopback and LAN). See the README for real networks. */
  iceServers?: IceServer[];
  /** ICE + DTLS + channel open must complete within this time. Default 15 s. */
  negotiationTimeoutMs?: number;
  /** A signaling server of your own (e.g. standalone on its own port). Default: attached to the host's HTTP server. */
  signaling?: SignalingServer;
  /** Path of the attached signaling endpoint. Default `/bonito-signaling`. */
  signalingPath?: string;
  /** Framing, backpressure and heartbeat settings. */
  channel?: FramedChannelOptions;
  /** The Node WebRTC stack. Default `"werift"`. */
  backend?: BackendName;
}

/** One attached signaling server per HTTP server, shared by all its sessions. */
const attachedSignaling = new WeakMap<HttpServer, SignalingServer>();

function signalingFor(httpServer: HttpServer, path: string): SignalingServer {
  let server = attachedSignaling.get(httpServer);
  if (!server) {
    server = new SignalingServer({ mode: "attached", httpServer, path });
    attachedSignaling.set(httpServer, server);
  }
  return server;
}

export class WebRTCConnection extends FrontendConnection {
  readonly type = "webrtc";
  private readonly options: WebRTCConnectionOptions;
  private readonly backend: WebRTCBackend;
  private room: Room | undefined;
  private pc: PeerConnectionLike | undefined;
  private channel: FramedChannel | undefined;
  private bootstrap: WebRTCBootstrap | undefined;
  private closing = false;
  private readonly negotiationAbort = new AbortController();

  constructor(options: WebRTCConnectionOptions = {}) {
    super();
    this.options = options;
    // Resolved now so that asking for a backend that is not installed fails at registration time.
    this.backend = resolveBackend(options.backend ?? "werift");
  }

  /** The Node WebRTC stack in use. */
  get backendName(): string {
    return this.backend.name;
  }

  async attach(session: Session, host: ConnectionHost): Promise<ConnectionBootstrap> {
    this.session = session;
    const signaling = this.options.signaling ?? signalingFor(host.httpServer, this.options.signalingPath ?? "/bonito-signaling");
    const room = await signaling.openRoom(session.id);
    this.room = room;
    room.onFrontendJoined(() => void this.negotiate(room));
    room.onClose((reason) => {
      // Before the channel exists, losing the room means the frontend can never connect.
      if (!this.channel && !this.closing && reason !== "closed") {
        void session.close(`WebRTC signaling ended before the data channel opened (${reason})`);
      }
    });
    this.bootstrap = {
      type: "webrtc",
      signalingUrl: room.url,
      token: room.token,
      iceServers: this.options.iceServers ?? [],
      timeoutMs: this.options.negotiationTimeoutMs ?? DEFAULT_NEGOTIATION_TIMEOUT_MS,
      channel: this.options.channel ?? {},
    };
    return { ...this.bootstrap };
  }

  override browserAssets(): string[] {
    return ["webrtc.js"];
  }

  setupConnection(session: Session): string {
    if (!this.bootstrap) throw new Error("WebRTCConnection.setupConnection called before attach");
    // The page resolves the signaling path against its own location, so it works behind a proxy.
    const url = new URL(this.bootstrap.signalingUrl);
    const config = { ...this.bootstrap, signalingUrl: url.pathname + url.search, sessionId: session.id, compression: session.compressionEnabled };
    return `BonitoWebRTC.connect(${JSON.stringify(config)}, Bonito);`;
  }

  isOpen(): boolean {
    return this.channel?.isOpen ?? false;
  }

  write(frame: Uint8Array): Promise<void> {
    if (!this.channel) return Promise.reject(new Error("WebRTC data channel is not open yet"));
    return this.channel.write(frame);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.negotiationAbort.abort();
    this.room?.close();
    if (this.channel) await this.channel.close("session closed");
    else if (this.pc) this.backend.closePeerConnection(this.pc);
    await this.session?.close("connection closed");
  }

  /** The frontend joined the room: offer, and once the channel opens hand it to the session. */
  private async negotiate(room: Room): Promise<void> {
    const session = this.session!;
    const pc = this.backend.createPeerConnection(this.options.iceServers ?? []);
    this.pc = pc;
    try {
      const dataChannel = await negotiateAsOfferer(pc, room, {
        timeoutMs: this.options.negotiationTimeoutMs ?? DEFAULT_NEGOTIATION_TIMEOUT_MS,
        signal: this.negotiationAbort.signal,
      });
      room.close();
      if (this.closing) {
        dataChannel.close();
        this.backend.closePeerConnection(pc);
        return;
      }
      const channel = new FramedChannel(this.backend.wrapChannel(dataChannel, pc), this.options.channel);
      this.channel = channel;
      channel.onFrame((frame) => session.processMessage(frame));
      void channel.closed.then((info) => {
        void session.close(info.remote ? `the frontend closed the data channel: ${info.reason}` : info.reason, info.error);
      });
      session.connectionOpened();
    } catch (error) {
      room.close();
      this.backend.closePeerConnection(pc);
      if (this.closing) return;
      const problem = error instanceof NegotiationError ? error : new Error(`WebRTC negotiation failed: ${(error as Error).message}`);
      void session.close(`WebRTC connection failed: ${problem.message}`, problem);
    }
  }
}
