/**
 * The floor on a werift data channel (Node): what an application does with werift alone.
 * Messages are pieces of at most the remote's max-message-size, sent as views of the
 * caller's bytes (never modified afterwards, so werift may keep them), and the sender
 * pauses while werift buffers more than HIGH_WATER bytes or more than MAX_PENDING
 * messages. The second limit is not optional with werift: every pending message waits on
 * the same "queue empty" event and unsubscribing is a linear scan, so thousands of tiny
 * pending messages slow it down quadratically (src/webrtc/backends/werift/port.ts has the
 * measurements); with it the floor for tiny messages is reachable at all.
 */
import type { RTCDataChannel } from "werift";
import { Listeners, serialBareEndpoint, type Endpoint } from "../shared/endpoint.js";
import { HIGH_WATER } from "../shared/bare-w3c.js";

/** At most this many messages inside werift at once (≈ 1 MiB / 16 KiB, as our port allows). */
export const MAX_PENDING = 64;
/** Piece size when the remote says "unlimited" (0), which werift cannot honour for large messages. */
const UNLIMITED_PIECE = 64 * 1024;

export function weriftBareEndpoint(dc: RTCDataChannel): Endpoint {
  const inbound = new Listeners();
  let pending = 0;
  let wake: (() => void) | null = null;
  // werift empties its buffer in one step; "empty" is when the pending count is known.
  dc.bufferedAmountLowThreshold = 0;
  dc.on("message", (event: { data: Buffer | string }) => {
    if (typeof event.data !== "string") inbound.emit(event.data);
  });
  dc.on("bufferedamountlow", () => {
    pending = 0;
    const w = wake;
    wake = null;
    w?.();
  });
  dc.on("close", () => {
    const w = wake;
    wake = null;
    w?.();
  });
  const sendOne = async (data: Uint8Array): Promise<void> => {
    const remote = dc.sctp.remoteMaxMessageSize;
    const piece = remote > 0 ? remote : UNLIMITED_PIECE;
    const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let offset = 0;
    do {
      if (dc.bufferedAmount === 0) pending = 0;
      while (dc.readyState === "open" && (dc.bufferedAmount > HIGH_WATER || pending >= MAX_PENDING)) {
        await new Promise<void>((resolve) => (wake = resolve));
        if (dc.bufferedAmount === 0) pending = 0;
      }
      if (dc.readyState !== "open") throw new Error(`data channel is ${dc.readyState}`);
      dc.send(buffer.subarray(offset, offset + piece));
      pending++;
      offset += piece;
    } while (offset < buffer.length);
  };
  return serialBareEndpoint(sendOne, inbound);
}
