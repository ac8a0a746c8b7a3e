/**
 * ChannelPort over a werift data channel (Node).
 *
 * werift facts this adapter relies on (werift 0.24.4, checked in
 * node_modules/werift/lib/webrtc/src):
 * - It delivers `Buffer` (or a string for text messages); there is no
 *   `binaryType`. We hand out Uint8Array.
 * - `bufferedamountlow` is emitted as a Node event (and on the
 *   `bufferedAmountLow` subscription); there is no `onbufferedamountlow`
 *   property. It fires only when bufferedAmount crosses the threshold
 *   downwards.
 * - The remote max-message-size (from the remote SDP's
 *   `a=max-message-size`, 65536 if absent, 0 meaning unlimited) is kept in
 *   `RTCSctpTransport.remoteMaxMessageSize`, reachable as `dc.sctp`;
 *   `send` throws "max-message-size exceeded" above it.
 * - `send` keeps a reference to the Buffer until SCTP has taken it.
 * - Cost grows with the square of the number of messages waiting in it:
 *   every pending message awaits the same "outbound queue empty" event, and
 *   werift's event unsubscribe is a linear filter. 100 small messages sent
 *   at once cost ~1 ms each, 1000 cost ~6 ms each, 2000 did not finish in
 *   minutes. A pending message also stays pending until the whole queue has
 *   gone out, so bufferedAmount falls to 0 in one step, never part-way.
 *   Hence bufferedAmount here counts each pending message as
 *   PENDING_MESSAGE_COST extra bytes (bounding the count through the
 *   caller's high-water mark), and the low callback fires when werift's
 *   buffer has drained completely.
 * - `pc.close()` alone sends nothing the peer notices (its channel stays
 *   open ~30 s); `dc.close()` sends an SCTP stream reset that the peer sees
 *   within milliseconds. So close closes the channel first.
 * - Event subscribers run inside werift's receive path: an exception thrown
 *   there would surface inside werift, so callbacks are guarded.
 *
 * Workarounds that change werift itself are not here: the backend applies
 * them to each peer connection it creates (./patches).
 */
import type { RTCDataChannel, RTCPeerConnection } from "werift";
import type { ChannelPort, PortOptions } from "../../channel/port.js";
import { InboundMessages, MAX_HELD_BYTES } from "../../channel/inbound-messages.js";

/**
 * Extra bytes each message still inside werift adds to bufferedAmount. With
 * the default 1 MiB high-water mark this keeps at most ~32 small messages
 * pending (or ~11 fragments of 64 KiB). Measured in one process: 16–64
 * pending small messages gave the best rate (1300–2100 frames/s, noisy),
 * 256 pending halved it, and unpaced werift slows down quadratically;
 * 1 MiB frames ran at the same 6–9 MiB/s with any of these costs. (That
 * was one message per small frame; FramedChannel now packs a burst of small
 * frames into BATCH messages of up to 64 KiB, ~1000 frames of 64 bytes
 * each, so the cap rarely binds for them: 10,000 such frames in one tick
 * went from ~1,000–1,400 to ~20,000–40,000 frames/s, one process.)
 */
const PENDING_MESSAGE_COST = 32 * 1024;

/** Longest wait for the peer to acknowledge the channel close before closing the connection. */
const PEER_CLOSE_DELAY_MS = 1000;

/**
 * Wraps a werift data channel and its peer connection as a ChannelPort. Call it as soon as
 * the channel object exists (see NegotiationOptions.onChannel): werift delivers messages
 * that arrive before `open`, and the port holds them until its message callback is set.
 */
export function wrapWeriftChannel(dc: RTCDataChannel, pc: RTCPeerConnection, options: PortOptions = {}): ChannelPort {
  return new WeriftPort(dc, pc, options);
}

class WeriftPort implements ChannelPort {
  private readonly inbound: InboundMessages;
  private closeCallback: (() => void) | null = null;
  private errorCallback: ((error: Error) => void) | null = null;
  private lowCallback: (() => void) | null = null;
  private lowThreshold = 0;
  /** Whether bufferedAmount has been above lowThreshold since the low callback last fired. */
  private aboveThreshold = false;
  /** Messages sent since werift's buffer was last empty (all of them complete together). */
  private pendingMessages = 0;
  private closeReported = false;
  private closeRequested = false;
  private readonly disposers: Array<() => void> = [];

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
    const onMessage = (event: { data: string | Buffer }) => {
      const data = typeof event.data === "string" ? Buffer.from(event.data, "utf8") : event.data;
      this.guard(() => this.inbound.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
    };
    // werift's threshold stays 0: its buffer empties in one step (see above),
    // and "empty" is the only moment the pending-message count is known.
    dc.bufferedAmountLowThreshold = 0;
    const onLow = () => {
      this.pendingMessages = 0;
      if (!this.aboveThreshold) return;
      this.aboveThreshold = false;
      this.guard(() => this.lowCallback?.());
    };
    const onClose = () => this.reportClose();
    dc.on("message", onMessage);
    dc.on("bufferedamountlow", onLow);
    dc.on("close", onClose);
    this.disposers.push(() => {
      dc.off("message", onMessage);
      dc.off("bufferedamountlow", onLow);
      dc.off("close", onClose);
    });
    // werift declares this event but does not raise it yet; subscribe anyway.
    const errors = dc.error.subscribe((error) => this.reportError(error));
    // A failed connection does not close its channels for a long time, and
    // pc.close() sets "closed" before it stops DTLS: reporting the close here
    // lets the owner close the channel while SCTP still runs, so even a bare
    // pc.close() on a wrapped connection reaches the peer (measured: 2–6 ms).
    const states = pc.connectionStateChange.subscribe((state) => {
      if (state === "failed" || state === "closed") this.reportClose();
    });
    this.disposers.push(errors.unSubscribe, states.unSubscribe);
  }

  send(data: Uint8Array): void {
    // werift itself would queue data on a closing or closed channel without complaint.
    if (!this.isOpen) throw new Error(`data channel is not open (${this.dc.readyState})`);
    if (this.dc.bufferedAmount === 0) this.pendingMessages = 0;
    // A Buffer view, not a copy: werift would copy a plain Uint8Array.
    this.dc.send(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    this.pendingMessages++;
    if (this.bufferedAmount > this.lowThreshold) this.aboveThreshold = true;
  }

  /** werift's buffered bytes plus PENDING_MESSAGE_COST per message still inside it. */
  get bufferedAmount(): number {
    const bytes = this.dc.bufferedAmount;
    if (bytes === 0) this.pendingMessages = 0;
    return bytes + this.pendingMessages * PENDING_MESSAGE_COST;
  }

  setBufferedAmountLowThreshold(bytes: number): void {
    this.lowThreshold = bytes;
  }

  onBufferedAmountLow(callback: (() => void) | null): void {
    this.lowCallback = callback;
  }

  onMessage(callback: ((data: Uint8Array) => void) | null): void {
    this.inbound.setCallback(callback && ((data) => this.guard(() => callback(data))));
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
    const remote = this.dc.sctp.remoteMaxMessageSize;
    return remote === 0 ? Infinity : remote;
  }

  close(): void {
    if (this.closeRequested) return;
    this.closeRequested = true;
    const { dc, pc } = this;
    const closePeer = () => {
      clearTimeout(timer);
      pc.close().catch((error: unknown) => this.reportError(asError(error)));
    };
    // Close the peer connection once the peer has acknowledged the stream
    // reset (the channel's own "close"), so neither the reset nor data still
    // unacknowledged is cut off; bounded in case the peer is gone.
    const timer = setTimeout(closePeer, PEER_CLOSE_DELAY_MS);
    timer.unref();
    try {
      dc.close();
    } catch (error) {
      this.reportError(asError(error));
    }
    // Already closed (peer reset it, or no association): nothing to wait for.
    if (dc.readyState === "closed") closePeer();
    else dc.once("close", closePeer);
    this.reportClose();
  }

  /** Reports the close once and detaches from werift so nothing keeps us alive. */
  private reportClose(): void {
    if (this.closeReported) return;
    this.closeReported = true;
    this.inbound.clear();
    for (const dispose of this.disposers.splice(0)) dispose();
    const callback = this.closeCallback;
    this.guard(() => callback?.());
  }

  private reportError(error: Error): void {
    const callback = this.errorCallback;
    if (callback) {
      try {
        callback(error);
      } catch {
        // An error handler that throws has nowhere left to report to.
      }
    }
  }

  /** Runs a user callback so that its exception never unwinds into werift. */
  private guard(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.reportError(asError(error));
    }
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
