/**
 * `WebRTCConnection`: a session carried over one ordered, reliable WebRTC data channel.
 * The server peer opens a signaling room for the session, offers once the frontend joins,
 * and from then on frames travel peer to peer; the signaling endpoint is routed only while a
 * negotiation is pending, and the channel outlives it.
 *
 * When WebRTC cannot connect (ICE or DTLS fail or time out, the page has no
 * RTCPeerConnection), the session continues over a WebSocket instead of failing: the
 * bootstrap carries the address of one (`fallback`), the frontend opens it when its side of
 * the negotiation fails, and the session, which sends nothing before its frontend is ready,
 * flushes its queue there exactly once. `fallback: false` turns this off.
 */
import { DEFAULT_FALLBACK_WAIT_MS, DEFAULT_MAX_FRAME_SIZE, DEFAULT_NEGOTIATION_TIMEOUT_MS, DEFAULT_SIGNALING_PATH } from "../core/constants.js";
import { FrontendConnection, type BrowserAsset, type ConnectionHost } from "../session/connection.js";
import type { Session } from "../session/session.js";
import { webSocketUrl } from "../core/urls.js";
import { FramedChannel, type ChannelPort, type FramedChannelOptions } from "./channel/index.js";
import { SignalingServer, type Room } from "../signaling/server.js";
import { negotiateAsOfferer, NegotiationError, type PeerConnectionLike } from "./negotiation.js";
import { checkBackendName, loadBackend, DEFAULT_BACKEND, type BackendName, type WebRTCBackend } from "./backends/index.js";
import type { IceServer, IceTransportPolicy, WebRTCBootstrap } from "./options.js";
import { FallbackWebSocket, type FallbackInfo } from "./fallback.js";

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
  /**
   * ICE + DTLS + channel open must complete within this time; with `fallback` on, this is the
   * time after which the session falls back to the WebSocket. Default 15 s.
   */
  negotiationTimeoutMs?: number;
  /**
   * When WebRTC cannot connect, continue the session over a WebSocket on the same server
   * (the frontend switches by itself; the session's log says why). `false`: the session
   * fails instead. Default true.
   */
  fallback?: boolean;
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
  /** The WebSocket to fall back to (absent with `fallback: false`). */
  private fallbackSocket: FallbackWebSocket | undefined;
  /** Set once the session has moved to the fallback WebSocket. */
  private fallbackInfo: FallbackInfo | undefined;
  /** Why WebRTC failed on our side, while we wait for the frontend to fall back. */
  private webrtcFailure: { reason: string; error: Error } | undefined;
  private fallbackWait: ReturnType<typeof setTimeout> | undefined;
  private host: ConnectionHost | undefined;
  /** When the frontend joined signaling (or the session was prepared, until it does). */
  private startedAt = Date.now();

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

  /** `"webrtc"`, or `"websocket"` once the session fell back. */
  override get transport(): string {
    return this.fallbackInfo ? "websocket" : "webrtc";
  }

  /** Why and when the session fell back to the WebSocket; undefined while it has not. */
  get fallback(): FallbackInfo | undefined {
    return this.fallbackInfo;
  }

  protected async prepare(session: Session, host: ConnectionHost): Promise<WebRTCBootstrap> {
    // Before the bootstrap goes out: a stack that is not installed fails the session now, with its install hint.
    this.backend = await this.backendLoading;
    this.host = host;
    this.startedAt = Date.now();
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
    room.onFrontendJoined(() => {
      this.startedAt = Date.now();
      void this.negotiate(room, host);
    });
    room.onClose((reason) => {
      // Before negotiation starts, losing the room means WebRTC can never connect.
      // Once it has started the negotiation judges: the frontend closes signaling as soon
      // as its end of the channel opens, which can be before ours does (quick with
      // node-datachannel), and that is no failure.
      if (!this.pc && !this.channel && !this.isClosing && !this.fallbackInfo && reason !== "closed") {
        const message = `WebRTC signaling ended before the data channel opened (${reason})`;
        this.webrtcFailed(message, new Error(message));
      }
    });
    let fallback: { url: string } | undefined;
    if (this.options.fallback !== false) {
      const socket = new FallbackWebSocket(() => this.frontendFellBack(), { maxFrameSize: this.maxFrameSize });
      this.fallbackSocket = socket;
      fallback = { url: await socket.attachTo(session, host) };
      // Once the session runs over the data channel, nothing may open a second transport.
      session.onReady(() => {
        if (!this.fallbackInfo && this.channel) socket.retire();
      });
    }
    this.bootstrap = {
      type: "webrtc",
      signalingUrl: room.url,
      token: room.token,
      iceServers: this.iceServers,
      ...(this.options.iceTransportPolicy ? { iceTransportPolicy: this.options.iceTransportPolicy } : {}),
      timeoutMs: this.options.negotiationTimeoutMs ?? DEFAULT_NEGOTIATION_TIMEOUT_MS,
      channel: this.options.channel ?? {},
      answerSetup: this.backend.answerSetup,
      ...(fallback ? { fallback } : {}),
    };
    return { ...this.bootstrap };
  }

  override browserAssets(): BrowserAsset[] {
    return [{ name: "webrtc.js", file: new URL("../../browser/webrtc.js", import.meta.url) }];
  }

  setupConnection(session: Session): string {
    if (!this.bootstrap) throw new Error("WebRTCConnection.setupConnection called before attach");
    // The page resolves a routed endpoint's relative path against its own location, so it works behind a proxy.
    const config = {
      ...this.bootstrap,
      signalingUrl: this.pagePath,
      ...(this.fallbackSocket ? { fallback: { url: this.fallbackSocket.pagePath } } : {}),
      sessionId: session.id,
      compression: session.compressionEnabled,
    };
    return `BonitoWebRTC.connect(${JSON.stringify(config)}, Bonito);`;
  }

  isOpen(): boolean {
    if (this.fallbackInfo) return this.fallbackSocket!.isOpen();
    return this.channel?.isOpen ?? false;
  }

  override get maxFrameSize(): number {
    return this.options.channel?.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  }

  write(frame: Uint8Array): Promise<void> {
    if (this.fallbackInfo) return this.fallbackSocket!.write(frame);
    if (!this.channel) return Promise.reject(new Error("WebRTC data channel is not open yet"));
    return this.channel.write(frame);
  }

  protected async doClose(reason: string): Promise<void> {
    clearTimeout(this.fallbackWait);
    this.stopWebRTC();
    // The reason travels in our CLOSE, so the frontend can say why its session ended.
    if (this.channel) await this.channel.close(reason);
    await this.fallbackSocket?.release();
  }

  /** End the WebRTC side: negotiation, signaling and a peer connection without a channel. */
  private stopWebRTC(): void {
    this.negotiationAbort.abort();
    this.room?.close();
    if (!this.channel && this.pc) this.backend?.closePeerConnection(this.pc);
  }

  /**
   * WebRTC could not connect on our side. With a fallback, wait for the frontend on the
   * WebSocket (it learns of the failure from our "bye", or its own negotiation fails too);
   * without one, or if it does not come, the session ends with this reason.
   */
  private webrtcFailed(reason: string, error: Error): void {
    if (this.isClosing || this.fallbackInfo || this.webrtcFailure) return;
    if (!this.fallbackSocket) {
      void this.ended(`WebRTC connection failed: ${reason}`, error);
      return;
    }
    this.webrtcFailure = { reason, error };
    const waitMs = DEFAULT_FALLBACK_WAIT_MS;
    this.fallbackWait = setTimeout(() => {
      if (this.fallbackInfo) return;
      void this.ended(`WebRTC connection failed: ${reason}; the frontend did not fall back to the WebSocket within ${waitMs} ms`, error);
    }, waitMs);
    this.fallbackWait.unref();
  }

  /** The frontend opened the fallback WebSocket: from now on the session runs over it. */
  private frontendFellBack(): void {
    if (this.fallbackInfo || this.isClosing) return;
    clearTimeout(this.fallbackWait);
    const reason = this.webrtcFailure?.reason ?? "the frontend gave up on WebRTC first";
    this.fallbackInfo = { reason, afterMs: Date.now() - this.startedAt };
    this.stopWebRTC();
    // Nothing went over a channel the frontend did not see: the session sends only once its
    // frontend is ready, and a frontend that falls back never got its end of the channel.
    const channel = this.channel;
    this.channel = undefined;
    if (channel) void channel.close("the frontend fell back to the WebSocket");
    this.host?.logger.warn(
      `bonito: session ${this.session?.id}: WebRTC could not connect (${reason}); continuing over the WebSocket, ` +
        `${this.fallbackInfo.afterMs} ms after the frontend joined`,
    );
  }

  /** The frontend joined the room: offer, and once the channel opens hand it to the session. */
  private async negotiate(room: Room, host: ConnectionHost): Promise<void> {
    const backend = this.backend!;
    const pc = backend.createPeerConnection(this.iceServers, {
      logger: host.logger,
      ...(this.options.iceTransportPolicy ? { policy: this.options.iceTransportPolicy } : {}),
    });
    this.pc = pc;
    let port: ChannelPort | undefined;
    try {
      await negotiateAsOfferer(pc, room, {
        timeoutMs: this.options.negotiationTimeoutMs ?? DEFAULT_NEGOTIATION_TIMEOUT_MS,
        signal: this.negotiationAbort.signal,
        relayOnly: this.options.iceTransportPolicy === "relay",
        // From the start: the frontend may send before our side of the channel opens. What
        // the port holds until then counts against the server's inbound budget.
        onChannel: (dataChannel) => (port = backend.wrapChannel(dataChannel, pc, { onHeldBytes: (bytes) => this.holdingInbound(bytes) })),
      });
      room.close();
      if (this.isClosing || this.fallbackInfo) {
        port!.close();
        return;
      }
      const channel = new FramedChannel(port!, this.options.channel);
      this.channel = channel;
      channel.onFrame((frame) => this.deliver(frame));
      channel.onHeldBytes((bytes) => this.holdingInbound(bytes));
      // Ends the session as soon as the channel stops accepting frames; the close handshake
      // finishes behind it.
      void channel.ending.then((info) => {
        // Closed because the session moved to the WebSocket: nothing ended.
        if (this.channel !== channel) return;
        // A remote close without an error is the frontend's own decision; anything with an
        // error (heartbeat timeout, protocol error) already says what happened.
        const reason = info.remote && !info.error ? `the frontend closed the data channel: ${info.reason}` : info.reason;
        void this.ended(reason, info.error);
      });
      this.opened();
    } catch (error) {
      room.close();
      backend.closePeerConnection(pc);
      if (this.isClosing || this.fallbackInfo) return;
      const problem = error instanceof NegotiationError ? error : new Error(`WebRTC negotiation failed: ${(error as Error).message}`);
      this.webrtcFailed(problem.message, problem);
    }
  }
}


/** Throws a clear error for an `iceTransportPolicy` other than "all" or "relay". */
function checkIceTransportPolicy(policy: unknown): void {
  if (policy === undefined || policy === "all" || policy === "relay") return;
  throw new TypeError(`iceTransportPolicy must be "all" or "relay", got ${JSON.stringify(policy) ?? String(policy)}`);
}
