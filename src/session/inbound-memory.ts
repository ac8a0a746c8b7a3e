/**
 * The bytes a server holds for frames that frontends have sent but it has not processed yet:
 * frames still arriving (fragments, WebSocket continuations, a partly received message) and
 * frames waiting for their turn to be decoded. Each frame is bounded by `maxFrameSize`, but a
 * client can start a frame and never finish it, and many clients can do so at once; this
 * pool bounds the sum over every session of one server.
 *
 * When an update would take the total past the limit, the session holding the most is
 * closed, with an error naming the limit. That is usually the one filling the pool, and
 * sessions holding little (a healthy page sends small frames and finishes them) keep going.
 */

/** A session's share of the pool, as the pool sees it. */
export interface InboundHolder {
  /** Close the session: the pool needs its bytes back. */
  evict(error: Error): void;
}

export class InboundMemory {
  private readonly held = new Map<InboundHolder, number>();
  private heldTotal = 0;

  /** `limit`: most bytes all holders together may hold (`maxInboundBytes`). */
  constructor(readonly limit: number) {
    if (!(limit > 0)) throw new RangeError(`maxInboundBytes must be > 0, got ${limit}`);
  }

  /** Bytes held by every holder together. */
  get total(): number {
    return this.heldTotal;
  }

  /** Bytes `holder` holds. */
  heldBy(holder: InboundHolder): number {
    return this.held.get(holder) ?? 0;
  }

  /**
   * Records that `holder` now holds `bytes` (0 removes it). If the total passes the limit,
   * the largest holders are evicted until it fits again (possibly `holder` itself).
   */
  set(holder: InboundHolder, bytes: number): void {
    this.heldTotal += bytes - (this.held.get(holder) ?? 0);
    if (bytes > 0) this.held.set(holder, bytes);
    else this.held.delete(holder);
    while (this.heldTotal > this.limit) {
      const [largest, largestBytes] = this.largest();
      const error = new Error(
        `the server holds ${this.heldTotal} bytes of frames not yet processed, above maxInboundBytes ` +
          `(${this.limit} bytes); this session held the most (${largestBytes} bytes)`,
      );
      this.set(largest, 0);
      largest.evict(error);
    }
  }

  private largest(): [InboundHolder, number] {
    let best: [InboundHolder, number] | undefined;
    for (const entry of this.held) if (!best || entry[1] > best[1]) best = entry;
    return best!;
  }
}
