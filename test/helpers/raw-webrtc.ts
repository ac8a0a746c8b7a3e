/**
 * A frontend that negotiates a real WebRTC data channel with a session (signaling, offer,
 * answer, ICE, DTLS, SCTP) and then sends raw data-channel messages of the test's choosing,
 * bypassing our framing: how an attacker reaches the server's reassembler and decoder.
 */
import WebSocket from "ws";
import { connectSignaling, type WebSocketConstructor } from "../../src/signaling/client.js";
import { negotiateAsAnswerer } from "../../src/webrtc/negotiation.js";
import { loadBackend, type BackendName } from "../../src/webrtc/backends/index.js";
import type { ChannelPort } from "../../src/webrtc/channel/index.js";
import { Kind, decodeHeader } from "../../src/webrtc/channel/header.js";
import type { RawBootstrap } from "./raw-frontend.js";

/** A negotiated data channel under the test's control. */
export interface RawDataChannel {
  /** Sends one data-channel message as is. */
  send(message: Uint8Array): void;
  /**
   * Sends messages as they are, waiting while more than 1 MiB is buffered (werift slows down
   * badly with a long send queue); stops early if the channel closes.
   */
  sendAll(messages: readonly Uint8Array[]): Promise<void>;
  /** Resolves once the server has sent CLOSE (with its reason) or the channel has closed (with "" if no CLOSE came). */
  closed: Promise<string>;
  /** Every message the server sent, in order. */
  received: Uint8Array[];
  /** Resolves when the server next sends anything but a heartbeat (a reply: the session answered). */
  nextReply(): Promise<void>;
  /** The remote's max-message-size. */
  maxMessageSize: number;
  close(): void;
}

const utf8 = new TextDecoder();

/** Negotiates the data channel of the WebRTC session in `bootstrap` (fetched as JSON). */
export async function rawDataChannel(bootstrap: RawBootstrap, backendName: BackendName = "werift", timeoutMs = 15_000): Promise<RawDataChannel> {
  const { signalingUrl, token } = bootstrap.connection;
  if (bootstrap.connection.type !== "webrtc" || !signalingUrl || !token) throw new Error("not a WebRTC bootstrap");
  const backend = await loadBackend(backendName);
  const signaling = await connectSignaling(signalingUrl, {
    sessionId: bootstrap.sessionId,
    token,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    timeoutMs,
  });
  const pc = backend.createPeerConnection([]);
  let port: ChannelPort;
  try {
    const channel = await negotiateAsAnswerer(pc, signaling, { timeoutMs });
    port = backend.wrapChannel(channel, pc);
  } catch (error) {
    backend.closePeerConnection(pc);
    throw error;
  } finally {
    signaling.close();
  }
  const received: Uint8Array[] = [];
  let replyWaiters: Array<() => void> = [];
  let serverReason = "";
  let resolveClosed!: (reason: string) => void;
  const closed = new Promise<string>((resolve) => (resolveClosed = resolve));
  port.onMessage((data) => {
    received.push(data);
    const kind = data.length > 0 ? decodeHeader(data[0]!).kind : -1;
    if (kind === Kind.CLOSE) {
      // The server is done with this channel; it would now wait for an answer we never send.
      serverReason = utf8.decode(data.subarray(1));
      resolveClosed(serverReason);
    }
    else if (kind !== Kind.HEARTBEAT) {
      const waiters = replyWaiters;
      replyWaiters = [];
      for (const resolve of waiters) resolve();
    }
  });
  let isClosed = false;
  port.onClose(() => resolveClosed(serverReason));
  port.onError(() => resolveClosed(serverReason));
  void closed.then(() => (isClosed = true));
  const HIGH_WATER = 1024 * 1024;
  port.setBufferedAmountLowThreshold(HIGH_WATER / 4);
  let drained: (() => void) | undefined;
  port.onBufferedAmountLow(() => drained?.());
  const sendAll = async (messages: readonly Uint8Array[]) => {
    for (const bytes of messages) {
      while (!isClosed && port.bufferedAmount > HIGH_WATER) {
        await Promise.race([new Promise<void>((resolve) => (drained = resolve)), closed]);
      }
      if (isClosed || !port.isOpen) return;
      port.send(bytes);
    }
  };
  return {
    send: (message) => port.send(message),
    sendAll,
    closed,
    received,
    nextReply: () => new Promise<void>((resolve) => replyWaiters.push(resolve)),
    maxMessageSize: port.maxMessageSize,
    close: () => {
      port.close();
      resolveClosed(serverReason);
    },
  };
}
