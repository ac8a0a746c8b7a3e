/**
 * ChannelPort: the few things FramedChannel needs from a data channel,
 * normalized across werift, browsers and W3C-style polyfills
 * (node-datachannel). An adapter per stack implements it; nothing above
 * this interface knows which stack is underneath.
 *
 * Each `on...` method holds a single callback: calling it again replaces
 * the previous one and `null` removes it. The channel has one owner (a
 * FramedChannel), so one listener per event is all that is needed, and
 * replacing instead of adding makes it impossible to leak listeners.
 */
export interface ChannelPort {
  /**
   * Sends one message. The port may keep a reference to `data` until it is
   * on the wire: callers must never modify a buffer after sending it.
   * Throws if the channel is not open or the message is too large.
   */
  send(data: Uint8Array): void;

  /** Bytes accepted by `send` and not yet handed to the network. */
  readonly bufferedAmount: number;

  /** Sets the level at which `bufferedAmount` falling to it fires the low callback. */
  setBufferedAmountLowThreshold(bytes: number): void;

  /** Called when `bufferedAmount` falls from above the threshold to at or below it. */
  onBufferedAmountLow(callback: (() => void) | null): void;

  /** Called with each inbound message, as bytes, in order. */
  onMessage(callback: ((data: Uint8Array) => void) | null): void;

  /** Called once when the channel (or its peer connection) has closed or failed. */
  onClose(callback: (() => void) | null): void;

  /** Called when the channel reports an error. */
  onError(callback: ((error: Error) => void) | null): void;

  /** True while messages can be sent and received. */
  readonly isOpen: boolean;

  /**
   * Largest message the REMOTE peer accepts, in bytes (its negotiated
   * max-message-size); `Infinity` if it declared no limit. Never exceed it:
   * some stacks throw, others drop the message silently.
   */
  readonly maxMessageSize: number;

  /**
   * Closes the data channel, then its peer connection (in that order: the
   * channel close is what the peer notices quickly). Idempotent.
   */
  close(): void;
}

/** Options of a port adapter (`wrapW3CChannel`, a backend's `wrapChannel`). */
export interface PortOptions {
  /**
   * Told how many bytes the port holds for messages that arrived before anyone took them
   * (before the channel opened on our side), each time that changes: a server counts them
   * against its inbound memory budget.
   */
  onHeldBytes?: (bytes: number) => void;
}
