/**
 * The floor on a standard (W3C) RTCDataChannel: the page's native channel, or a Node
 * polyfill with the same API. One application message is cut into pieces no larger than
 * the remote's max-message-size, sent as they are (no header, no copy of our own), and the
 * sender waits on `bufferedamountlow` while more than HIGH_WATER bytes are buffered: what a
 * careful application would do with no library in between.
 */
import { Listeners, serialBareEndpoint, type Endpoint } from "./endpoint.js";

/** The same watermarks as FramedChannel's defaults, so the floor buffers as much as we do. */
export const HIGH_WATER = 1024 * 1024;
export const LOW_WATER = 256 * 1024;
/** Piece size when the remote states no limit. */
const UNLIMITED_PIECE = 256 * 1024;

/** The standard channel surface used here (DOM RTCDataChannel; node-datachannel's polyfill). */
export interface W3CChannel {
  binaryType: string;
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  readonly readyState: string;
  send(data: Uint8Array): void;
  addEventListener(type: string, listener: (event: any) => void, options?: { once?: boolean }): void;
  removeEventListener(type: string, listener: (event: any) => void): void;
}

/** `maxMessageSize`: the remote's limit (`pc.sctp.maxMessageSize`), read at each send. */
export function w3cBareEndpoint(dc: W3CChannel, maxMessageSize: () => number): Endpoint {
  const inbound = new Listeners();
  dc.binaryType = "arraybuffer";
  dc.bufferedAmountLowThreshold = LOW_WATER;
  dc.addEventListener("message", (event: { data: unknown }) => {
    const data = event.data;
    if (data instanceof ArrayBuffer) inbound.emit(new Uint8Array(data));
    else if (ArrayBuffer.isView(data)) inbound.emit(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  });
  const drained = () =>
    new Promise<void>((resolve, reject) => {
      const done = () => {
        dc.removeEventListener("bufferedamountlow", done);
        dc.removeEventListener("close", closed);
        resolve();
      };
      const closed = () => {
        dc.removeEventListener("bufferedamountlow", done);
        reject(new Error("data channel closed"));
      };
      dc.addEventListener("bufferedamountlow", done);
      dc.addEventListener("close", closed, { once: true });
      if (dc.bufferedAmount <= LOW_WATER) done();
    });
  const sendOne = async (data: Uint8Array): Promise<void> => {
    const limit = maxMessageSize();
    const piece = Number.isFinite(limit) && limit > 0 ? limit : UNLIMITED_PIECE;
    let offset = 0;
    do {
      while (dc.bufferedAmount > HIGH_WATER) await drained();
      if (dc.readyState !== "open") throw new Error(`data channel is ${dc.readyState}`);
      dc.send(data.subarray(offset, offset + piece));
      offset += piece;
    } while (offset < data.length);
  };
  return serialBareEndpoint(sendOne, inbound);
}
