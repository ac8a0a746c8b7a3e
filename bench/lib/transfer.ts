/**
 * One measured transfer between the two sides of a pair: arm the receiver, start the
 * sender, and time from the sender's first send to the receiver's last byte (both stamped
 * with the cross-process epoch clock). Bounded by `capMs`: past it, what the receiver got
 * so far is reported with `timedOut`.
 */
import type { Pair, Side } from "./pairs.js";
import type { ReceiveResult, SendResult } from "../shared/driver.js";
import { epochNow } from "../shared/clock.js";
import { MiB } from "./stats.js";
import { TimeoutError } from "./agents.js";

export interface TransferResult {
  bytes: number;
  count: number;
  /** ms from first send to last byte received (to the cap when timed out). */
  durationMs: number;
  /** Bytes that arrived. */
  receivedBytes: number;
  timedOut: boolean;
}

/** Flow-control settings for updates of `size` bytes (see EndpointDriver.send). */
export function flowFor(size: number, credit: boolean): { inflight: number; creditWindow: number; ackEvery: number } {
  const inflight = Math.min(64, Math.max(2, Math.ceil((2 * MiB) / size)));
  const creditWindow = Math.min(8 * MiB, 1024 * size);
  return { inflight, creditWindow, ackEvery: credit ? Math.floor(creditWindow / 4) : 0 };
}

/** `count` updates of `size` bytes from `sender` to `receiver`. */
export async function timedTransfer(
  sender: Side,
  receiver: Side,
  credit: boolean,
  size: number,
  count: number,
  capMs: number,
): Promise<TransferResult> {
  const bytes = size * count;
  const flow = flowFor(size, credit);
  await receiver.op("arm", { bytes, ackEvery: flow.ackEvery }, 10_000);
  const t0 = epochNow();
  const sending = sender.op<SendResult>("send", { size, count, inflight: flow.inflight, creditWindow: flow.creditWindow }, capMs + 2000);
  sending.catch(() => {});
  try {
    const [sent, received] = await Promise.all([sending, receiver.op<ReceiveResult>("wait", {}, capMs)]);
    return { bytes, count, durationMs: received.endedAt! - sent.startedAt, receivedBytes: received.bytes, timedOut: false };
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    const elapsed = epochNow() - t0;
    const progress = await receiver.op<ReceiveResult>("progress", {}, 3000).catch(() => null);
    if (!progress) throw error;
    return { bytes, count, durationMs: elapsed, receivedBytes: progress.bytes, timedOut: true };
  }
}

/** Convenience over a pair in its own direction. */
export function pairTransfer(pair: Pair, size: number, count: number, capMs: number): Promise<TransferResult> {
  return timedTransfer(pair.sender, pair.receiver, pair.credit, size, count, capMs);
}
