/**
 * The WebSocket a WebRTC session falls back to when WebRTC cannot connect (ICE or DTLS fail
 * or time out, the page has no RTCPeerConnection): the ordinary WebSocket connection, on the
 * same session, that tells its WebRTC connection when the frontend arrives on it.
 */
import type { ConnectionHost } from "../session/connection.js";
import type { Session } from "../session/session.js";
import { WebSocketConnection, type WebSocketBootstrap, type WebSocketConnectionOptions } from "../websocket/connection.js";

/** How a fallback went: why WebRTC could not connect, and how long after the frontend joined. */
export interface FallbackInfo {
  reason: string;
  /** Milliseconds from the frontend joining signaling (or from the page load, if it never did) to the switch. */
  afterMs: number;
}

export class FallbackWebSocket extends WebSocketConnection {
  constructor(
    /** Called each time the frontend (re)opens the socket, before the session sends anything over it. */
    private readonly onArrival: () => void,
    options: WebSocketConnectionOptions,
  ) {
    super(options);
  }

  /** Attach to `session`; resolves to the socket's absolute URL, for the bootstrap. */
  async attachTo(session: Session, host: ConnectionHost): Promise<string> {
    return ((await this.attach(session, host)) as WebSocketBootstrap).url;
  }

  /** No fallback will be needed (the session is up over WebRTC): refuse the socket from now on. */
  retire(): void {
    this.stopAccepting();
  }

  /**
   * Close the socket and its route without ending the session: the WebRTC connection that
   * owns this one is closing, and the session must end with that connection's reason, not
   * with this socket's. Does nothing once this socket closed by itself.
   */
  async release(): Promise<void> {
    if (!this.isClosing) await this.doClose();
  }

  /** The socket's path relative to the page, secret included. */
  get pagePath(): string {
    return this.socketPath;
  }

  protected override opened(): void {
    this.onArrival();
    super.opened();
  }
}
