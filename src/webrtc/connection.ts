/**
 * `WebRTCConnection`: a session carried over one ordered, reliable WebRTC data channel.
 * The server peer opens a signaling room for the session, offers once the frontend joins,
 * and from then on frames travel peer to peer; the signaling endpoint is routed only while a
 * negotiation is pending, and the channel outlives it.
 */
import { DEFAULT_MAX_FRAME_SIZE, DEFAULT_NEGOTIATION_TIMEOUT_MS, DEFAULT_SIGNALING_PATH } from "../core/constants.js";
import { FrontendConnection, type BrowserAsset, type ConnectionHost } from "../session/connection.js";
import type { Session } from "../session/session.js";
import { webSocketUrl } from "../core/urls.js";
import { FramedChannel, type FramedChannelOptions } from "./channel/index.js";
import { SignalingServer, type Room } from "../signaling/server.js";
import { negotiateAsOfferer, NegotiationError, type PeerConnectionLike } from "./negotiation.js";
import { checkBackendName, loadBackend, DEFAULT_BACKEND, type BackendName, type WebRTCBackend } from "./backends/index.js";
import type { IceServer, IceTransportPolicy, WebRTCBootstrap } from "./options.js";

export interface WebRTCConnectionOptions {
  /**
   * STUN/TURN servers, for the server peer and its frontend alike. Default `[]`: host
   * candidates only (loopback and LAN). A function is called once per session, e.g. to give
   * each session its own short-lived TURN credential (see `turnCredentials`). See the README
   * for real networks.
   */
  iceServers?: IceServer[] | ((session: Session) => IceServer[]);
  /** `"relay"` to use TURN relays only, on both peers. Default `"all"`. */
  iceTransportPolicy?: IceTransportPolicy;
  /** ICE + DTLS + channel open must complete within this time. Default 15 s. */
  negotiationTimeoutMs?: number;
  /** A signaling server of your own (e.g. standalone on its own port). Default: one routed on the host's HTTP server. */
  signaling?: SignalingServer;
  /** Path of the signaling endpoint on the host's HTTP server (when `signaling` is not given). Default `/bonito-signaling`. */
  signalingPath?: string;
  /** Framing, backpressure and heartbeat settings. */
  channel?: FramedChannelOptions;
  /**
   * The Node WebRTC stack: `"werift"` (default, pure JavaScript) or `"node-datachannel"`
   * (libdatachannel, 3–5× faster; an optional dependency, `npm install node-datachannel`).
   */
  backend?: BackendName;
}

/** Routed signaling servers, one per HTTP server and path, shared by the sessions that use that path. */
const routedSignaling = new WeakMap<ConnectionHost["httpServer"], Map<string, SignalingServer>>();

function routedSignalingFor(host: ConnectionHost, path: string): SignalingServer {
  let byPath = routedSignaling.get(host.httpServer);
  if (!byPath) routedSignaling.set(host.httpServer, (byPath = new Map()));
  let server = byPath.get(path);
  if (!server) {
    server = new SignalingServer({
      mode: "routed",
      route: (handler) => host.routeUpgrade(path, handler),
      onError: (error) => host.logger.error("bonito: signaling:", error),
    });
    byPath.set(path, server);
  }
  return server;
}

export class WebRTCConnection extends FrontendConnection {
  readonly type = "webrtc";
  private readonly options: WebRTCConnectionOptions;
  private readonly requestedBackend: BackendName;
  /** Loads the stack; settled by the time `prepare` returns. */
  private readonly backendLoading: Promise<WebRTCBackend>;
  private backend: WebRTCBackend | undefined;
  private room: Room | undefined;
  private pc: PeerConnectionLike | undefined;
  private channel: FramedChannel | undefined;
  private bootstrap: WebRTCBootstrap | undefined;
  private iceServers: IceServer[] = [];
  /** The signaling URL as the page gets it: relative to the page when routed on the host. */
  private pagePath = "";
  private readonly negotiationAbort = new AbortController();

  constructor(options: WebRTCConnectionOptions = {}) {
    super();
    this.options = options;
    // An unknown name throws here; a stack that will not load fails the first attach (below).
    this.requestedBackend = checkBackendName(options.backend ?? DEFAULT_BACKEND);
    checkIceTransportPolicy(options.iceTransportPolicy);
    this.backendLoading = loadBackend(this.requestedBackend);
    // Reported by attach; a connection that is never attached must not raise an unhandled rejection.
    this.backendLoading.catch(() => {});
  }

  /** The Node WebRTC stack in use. */
  get backendName(): BackendName {
    return this.requestedBackend;
  }

  protected async prepare(session: Session, host: ConnectionHost): Promise<WebRTCBootstrap> {
    // Before the bootstrap goes out: a stack that is not installed fails the session now, with its install hint.
    this.backend = await this.backendLoading;
    // Relative to the app: the page resolves it against its own address, the server routes it below basePath.
    const relativePath = (this.options.signalingPath ?? DEFAULT_SIGNALING_PATH).replace(/^\//, "");
    const own = this.options.signaling;
    const room = own
      ? await own.openRoom(session.id)
      : await routedSignalingFor(host, `${host.basePath}${relativePath}`).openRoom(session.id, { url: webSocketUrl(host.baseUrl, relativePath) });
    this.pagePath = own ? room.url : relativePath;
    this.room = room;
    const iceServers = this.options.iceServers ?? [];
    this.iceServers = typeof iceServers === "function" ? iceServers(session) : iceServers;
    room.onFrontendJoined(() => void this.negotiate(room, host));
    room.onClose((reason) => {
      // Before negotiation starts, losing the room means the frontend can never connect.
      // Once it has started the negotiation judges: the frontend closes signaling as soon
      // as its end of the channel opens, which can be before ours does (quick with
      // node-datachannel), and that is no failure.
      if (!this.pc && !this.channel && !this.isClosing && reason !== "closed") {
        void this.ended(`WebRTC signaling ended before the data channel opened (${reason})`);
      }
    });
    this.bootstrap = {
      type: "webrtc",
      signalingUrl: room.url,
      token: room.token,
      iceServers: this.iceServers,
      ...(this.options.iceTransportPolicy ? { iceTransportPolicy: this.options.iceTransportPolicy } : {}),
      timeoutMs: this.options.negotiationTimeoutMs ?? DEFAULT_NEGOTIATION_TIMEOUT_MS,
      channel: this.options.channel ?? {},
    };
    return { ...this.bootstrap };
  }

  override browserAssets(): BrowserAsset[] {
    return [{ name: "webrtc.js", file: new URL("../../browser/webrtc.js", import.meta.url) }];
  }

  setupConnection(session: Session): string {
    if (!this.bootstrap) throw new Error("WebRTCConnection.setupConnection called before attach");
    // The page resolves a routed endpoint's relative path against its own location, so it works behind a proxy.
    const config = { ...this.bootstrap, signalingUrl: this.pagePath, sessionId: session.id, compression: session.compressionEnabled };
    return `BonitoWebRTC.connect(${JSON.stringify(config)}, Bonito);`;
  }

  isOpen(): boolean {
    return this.channel?.isOpen ?? false;
  }

  override get maxFrameSize(): number {
    return this.options.channel?.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  }

  write(frame: Uint8Array): Promise<void> {
    if (!this.channel) return Promise.reject(new Error("WebRTC data channel is not open yet"));
    return this.channel.write(frame);
  }

  protected async doClose(): Promise<void> {
    this.negotiationAbort.abort();
    this.room?.close();
    if (this.channel) await this.channel.close("session closed");
    else if (this.pc) this.backend?.closePeerConnection(this.pc);
  }

  /** The frontend joined the room: offer, and once the channel opens hand it to the session. */
  private async negotiate(room: Room, host: ConnectionHost): Promise<void> {
    const backend = this.backend!;
    const pc = backend.createPeerConnection(this.iceServers, {
      logger: host.logger,
      ...(this.options.iceTransportPolicy ? { policy: this.options.iceTransportPolicy } : {}),
    });
    this.pc = pc;
    try {
      const dataChannel = await negotiateAsOfferer(pc, room, {
        timeoutMs: this.options.negotiationTimeoutMs ?? DEFAULT_NEGOTIATION_TIMEOUT_MS,
        signal: this.negotiationAbort.signal,
      });
      room.close();
      if (this.isClosing) {
        dataChannel.close();
        backend.closePeerConnection(pc);
        return;
      }
      const channel = new FramedChannel(backend.wrapChannel(dataChannel, pc), this.options.channel);
      this.channel = channel;
      channel.onFrame((frame) => this.deliver(frame));
      channel.onHeldBytes((bytes) => this.holdingInbound(bytes));
      void channel.closed.then((info) => {
        // A remote close without an error is the frontend's own decision; anything with an
        // error (heartbeat timeout, protocol error) already says what happened.
        const reason = info.remote && !info.error ? `the frontend closed the data channel: ${info.reason}` : info.reason;
        void this.ended(reason, info.error);
      });
      this.opened();
    } catch (error) {
      room.close();
      backend.closePeerConnection(pc);
      if (this.isClosing) return;
      const problem = error instanceof NegotiationError ? error : new Error(`WebRTC negotiation failed: ${(error as Error).message}`);
      void this.ended(`WebRTC connection failed: ${problem.message}`, problem);
    }
  }
}


/** Throws a clear error for an `iceTransportPolicy` other than "all" or "relay". */
function checkIceTransportPolicy(policy: unknown): void {
  if (policy === undefined || policy === "all" || policy === "relay") return;
  throw new TypeError(`iceTransportPolicy must be "all" or "relay", got ${JSON.stringify(policy) ?? String(policy)}`);
}
