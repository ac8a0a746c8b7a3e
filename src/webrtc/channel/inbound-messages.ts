/**
 * The inbound side of a ChannelPort: hands each message to the current callback, and holds
 * messages, in order, while there is none.
 *
 * Why: a port is created as soon as its data channel object exists, before `open`, because
 * peers may send before our side calls the channel open (Firefox sends its first messages
 * before its DCEP ACK; werift and libdatachannel deliver them while the channel is still
 * `connecting`). Whatever arrives before the FramedChannel takes the port is kept for it.
 */

/** Most bytes held for a port that has no callback yet; a peer sending more is refused. */
export const MAX_HELD_BYTES = 16 * 1024 * 1024;

export class InboundMessages {
  private callback: ((data: Uint8Array) => void) | null = null;
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private releaseScheduled = false;

  /**
   * `onOverflow` is called if more than `limitBytes` would have to be held; `onHeldBytes`
   * hears the bytes held each time that changes.
   */
  constructor(
    private readonly onOverflow: (error: Error) => void,
    private readonly limitBytes = MAX_HELD_BYTES,
    private readonly onHeldBytes: (bytes: number) => void = () => {},
  ) {}

  /** A message arrived: deliver it, or hold it behind those still held. */
  push(data: Uint8Array): void {
    if (this.callback && this.held.length === 0) {
      this.callback(data);
      return;
    }
    if (this.heldBytes + data.byteLength > this.limitBytes) {
      const held = this.heldBytes;
      this.clear();
      this.onOverflow(new Error(`the peer sent more than ${this.limitBytes} bytes before the channel was taken into use (${held} held)`));
      return;
    }
    this.held.push(data);
    this.heldBytes += data.byteLength;
    this.onHeldBytes(this.heldBytes);
  }

  /**
   * Sets the receiver (null pauses delivery). Held messages go to it first, in order, in a
   * microtask: never from inside this call, so a receiver that is still being set up is not
   * re-entered.
   */
  setCallback(callback: ((data: Uint8Array) => void) | null): void {
    this.callback = callback;
    if (!callback || this.held.length === 0 || this.releaseScheduled) return;
    this.releaseScheduled = true;
    queueMicrotask(() => {
      this.releaseScheduled = false;
      while (this.callback && this.held.length > 0) {
        const data = this.held.shift()!;
        this.heldBytes -= data.byteLength;
        this.callback(data);
      }
      this.onHeldBytes(this.heldBytes);
    });
  }

  /** Drops whatever is held (the port closed). */
  clear(): void {
    const had = this.heldBytes;
    this.held = [];
    this.heldBytes = 0;
    if (had > 0) this.onHeldBytes(0);
  }
}
