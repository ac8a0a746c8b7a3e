/**
 * ChannelPort over a standard (W3C) RTCDataChannel: browsers, and Node
 * polyfills that follow the standard API (node-datachannel's).
 *
 * Uses only the standard surface: `binaryType = "arraybuffer"`, the
 * `message` / `close` / `error` / `bufferedamountlow` events (through
 * addEventListener, so handlers that other code set with `onclose` etc.
 * are left alone), `bufferedAmountLowThreshold`, and
 * `pc.sctp.maxMessageSize` for the size limit.
 */
import type { ChannelPort, PortOptions } from "./port.js";
import { InboundMessages, MAX_HELD_BYTES } from "./inbound-messages.js";

/** RFC 8841: the max-message-size to assume when the peer states none. */
const DEFAULT_MAX_MESSAGE_SIZE = 65536;

/** Longest wait for the channel to finish closing before closing the connection. */
const PEER_CLOSE_DELAY_MS = 1000;

/**
 * Wraps a standard data channel and its peer connection as a ChannelPort. Call it as soon
 * as the channel object exists (see NegotiationOptions.onChannel): messages that arrive
 * before `open` are held until the port's message callback is set.
 */
export function wrapW3CChannel(dc: RTCDataChannel, pc: RTCPeerConnection, options: PortOptions = {}): ChannelPort {
  return new W3CPort(dc, pc, options);
}

class W3CPort implements ChannelPort {
  private readonly inbound: InboundMessages;
  private closeCallback: (() => void) | null = null;
  private errorCallback: ((error: Error) => void) | null = null;
  private lowCallback: (() => void) | null = null;
  private closeReported = false;
  private closeRequested = false;

  constructor(
    private readonly dc: RTCDataChannel,
    private readonly pc: RTCPeerConnection,
    options: PortOptions,
  ) {
    const overflow = (error: Error) => {
      this.reportError(error);
      this.close();
    };
    this.inbound = new InboundMessages(overflow, MAX_HELD_BYTES, options.onHeldBytes);
    dc.binaryType = "arraybuffer";
    dc.addEventListener("message", this.handleMessage);
    dc.addEventListener("bufferedamountlow", this.handleLow);
    dc.addEventListener("close", this.handleClose);
    dc.addEventListener("error", this.handleError);
    pc.addEventListener("connectionstatechange", this.handleState);
  }

  send(data: Uint8Array): void {
    // The DOM typing wants an ArrayBuffer-backed view; ours always is.
    this.dc.send(data as Uint8Array<ArrayBuffer>);
  }

  get bufferedAmount(): number {
    return this.dc.bufferedAmount;
  }

  setBufferedAmountLowThreshold(bytes: number): void {
    this.dc.bufferedAmountLowThreshold = bytes;
  }

  onBufferedAmountLow(callback: (() => void) | null): void {
    this.lowCallback = callback;
  }

  onMessage(callback: ((data: Uint8Array) => void) | null): void {
    this.inbound.setCallback(callback);
  }

  onClose(callback: (() => void) | null): void {
    this.closeCallback = callback;
  }

  onError(callback: ((error: Error) => void) | null): void {
    this.errorCallback = callback;
  }

  get isOpen(): boolean {
    return this.dc.readyState === "open" && !this.closeReported;
  }

  get maxMessageSize(): number {
    // Read each time: pc.sctp exists only once negotiation has finished.
    // The standard value is already the limit we may send (Infinity if none).
    const size = this.pc.sctp?.maxMessageSize;
    return typeof size === "number" && size > 0 ? size : DEFAULT_MAX_MESSAGE_SIZE;
  }

  close(): void {
    if (this.closeRequested) return;
    this.closeRequested = true;
    const { dc, pc } = this;
    const closePeer = () => {
      clearTimeout(timer);
      try {
        pc.close();
      } catch (error) {
        this.reportError(asError(error));
      }
    };
    // Channel first: its close is what the peer notices promptly. The peer
    // connection follows once the channel has closed (its pending data and
    // the stream reset are through), or after a bounded wait.
    const timer = setTimeout(closePeer, PEER_CLOSE_DELAY_MS);
    // Under Node (a polyfill), this timer alone must not keep the process alive.
    (timer as { unref?: () => void }).unref?.();
    try {
      dc.close();
    } catch (error) {
      this.reportError(asError(error));
    }
    if (dc.readyState === "closed") closePeer();
    else dc.addEventListener("close", closePeer, { once: true });
    this.reportClose();
  }

  private readonly handleMessage = (event: MessageEvent): void => {
    const data = toBytes(event.data);
    if (data === null) {
      this.reportError(new Error(`unexpected data-channel message type: ${Object.prototype.toString.call(event.data)}`));
      return;
    }
    this.inbound.push(data);
  };

  private readonly handleLow = (): void => {
    this.lowCallback?.();
  };

  private readonly handleClose = (): void => {
    this.reportClose();
  };

  private readonly handleError = (event: Event): void => {
    // RTCErrorEvent carries `error`; polyfills may not.
    const error = (event as Event & { error?: unknown }).error;
    this.reportError(error === undefined ? new Error("data channel error") : asError(error));
  };

  private readonly handleState = (): void => {
    const state = this.pc.connectionState;
    if (state === "failed" || state === "closed") this.reportClose();
  };

  private reportClose(): void {
    if (this.closeReported) return;
    this.closeReported = true;
    this.inbound.clear();
    this.dc.removeEventListener("message", this.handleMessage);
    this.dc.removeEventListener("bufferedamountlow", this.handleLow);
    this.dc.removeEventListener("close", this.handleClose);
    this.dc.removeEventListener("error", this.handleError);
    this.pc.removeEventListener("connectionstatechange", this.handleState);
    this.closeCallback?.();
  }

  private reportError(error: Error): void {
    this.errorCallback?.(error);
  }
}

/** Normalizes a message's data to bytes (null for a type we cannot read, e.g. a Blob). */
function toBytes(data: unknown): Uint8Array | null {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (typeof data === "string") return new TextEncoder().encode(data);
  return null;
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
