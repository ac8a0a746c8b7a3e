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
import { checkBackendName, loadBackend, DEFAULT_BACKEND, type BackendName, type WebRTCBackend } from "./backends.js";
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
  /**
   * The Node WebRTC stack: `"werift"` (default, pure JavaScript) or `"node-datachannel"`
   * (libdatachannel, 3–5× faster; an optional dependency, `npm install node-datachannel`).
   */
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
  private readonly requestedBackend: BackendName;
  /** Loads the stack; settled by the time `attach` returns. */
  private readonly backendLoading: Promise<WebRTCBackend>;
  private backend: WebRTCBackend | undefined;
  private room: Room | undefined;
  private pc: PeerConnectionLike | undefined;
  private channel: FramedChannel | undefined;
  private bootstrap: WebRTCBootstrap | undefined;
  private closing = false;
  private readonly negotiationAbort = new AbortController();

  constructor(options: WebRTCConnectionOptions = {}) {
    super();
    this.options = options;
    // An unknown name throws here; a stack that will not load fails the first attach (below).
    this.requestedBackend = checkBackendName(options.backend ?? DEFAULT_BACKEND);
    this.backendLoading = loadBackend(this.requestedBackend);
    // Reported by attach; a connection that is never attached must not raise an unhandled rejection.
    this.backendLoading.catch(() => {});
  }

  /** The Node WebRTC stack in use. */
  get backendName(): BackendName {
    return this.requestedBackend;
  }

  async attach(session: Session, host: ConnectionHost): Promise<ConnectionBootstrap> {
    this.session = session;
    // Before the bootstrap goes out: a stack that is not installed fails the session now, with its install hint.
    this.backend = await this.backendLoading;
    const signaling = this.options.signaling ?? signalingFor(host.httpServer, this.options.signalingPath ?? "/bonito-signaling");
    const room = await signaling.openRoom(session.id);
    this.room = room;
    room.onFrontendJoined(() => void this.negotiate(room));
    room.onClose((reason) => {
      // Before negotiation starts, losing the room means the frontend can never connect.
      // Once it has started the negotiation judges: the frontend closes signaling as soon
      // as its end of the channel opens, which can be before ours does (quick with
      // node-datachannel), and that is no failure.
      if (!this.pc && !this.channel && !this.closing && reason !== "closed") {
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
    else if (this.pc) this.backend?.closePeerConnection(this.pc);
    await this.session?.close("connection closed");
  }

  /** The frontend joined the room: offer, and once the channel opens hand it to the session. */
  private async negotiate(room: Room): Promise<void> {
    const session = this.session!;
    const backend = this.backend!;
    const pc = backend.createPeerConnection(this.options.iceServers ?? []);
    this.pc = pc;
    try {
      const dataChannel = await negotiateAsOfferer(pc, room, {
        timeoutMs: this.options.negotiationTimeoutMs ?? DEFAULT_NEGOTIATION_TIMEOUT_MS,
        signal: this.negotiationAbort.signal,
      });
      room.close();
      if (this.closing) {
        dataChannel.close();
        backend.closePeerConnection(pc);
        return;
      }
      const channel = new FramedChannel(backend.wrapChannel(dataChannel, pc), this.options.channel);
      this.channel = channel;
      channel.onFrame((frame) => session.processMessage(frame));
      void channel.closed.then((info) => {
        // A remote close without an error is the frontend's own decision; anything with an
        // error (heartbeat timeout, protocol error) already says what happened.
        const reason = info.remote && !info.error ? `the frontend closed the data channel: ${info.reason}` : info.reason;
        void session.close(reason, info.error);
      });
      session.connectionOpened();
    } catch (error) {
      room.close();
      backend.closePeerConnection(pc);
      if (this.closing) return;
      const problem = error instanceof NegotiationError ? error : new Error(`WebRTC negotiation failed: ${(error as Error).message}`);
      void session.close(`WebRTC connection failed: ${problem.message}`, problem);
    }
  }
}
