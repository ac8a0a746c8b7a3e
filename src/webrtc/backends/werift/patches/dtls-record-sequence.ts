/**
 * A workaround for a werift 0.24.4 DTLS bug that delays the first messages
 * werift sends to a browser (or to any peer whose DTLS drops replayed
 * records: BoringSSL in Chromium, OpenSSL in libdatachannel) by 0.3–1 s.
 *
 * The bug (werift's flight5.ts / flight6.ts, `sendFinished`): the Finished
 * message, the first record of epoch 1, is numbered with the handshake's
 * running record counter (e.g. epoch 1, sequence 6), and the counter is then
 * reset to 0. Application data therefore starts at epoch 1, sequence 1 and
 * reaches the Finished's number a few records later. The receiver's replay
 * window has seen that number and silently drops the record (RFC 6347
 * §4.1.2.6). The record carries an SCTP packet, usually an early DATA chunk,
 * which SCTP recovers only by fast retransmit (three later packets) or its
 * retransmission timer (≥ 1 s). Measured werift → Chromium on loopback,
 * messages 150 ms apart: the 2nd message (werift as DTLS client) or the 4th
 * (as DTLS server) arrived 450–460 ms late, the two after it 300 and 150 ms
 * late; with this workaround all arrived in 1–4 ms. werift's own receiver
 * has no replay window, so werift ↔ werift never showed it.
 *
 * The workaround: once the handshake is done and before application data
 * reaches the Finished's number, move werift's record counter past it.
 * Skipping numbers is allowed (only repeating them is not). The Finished's
 * number is read from the flight werift keeps for retransmission, so
 * nothing is guessed; if werift's internals change (or the bug is fixed and
 * the counter is already past it) this does nothing.
 *
 * Everything it touches is public in werift's types: `RTCDtlsTransport.dtls`
 * (a `DtlsSocket`), its `dtls` (the `DtlsContext`), the context's
 * `recordSequenceNumber` and `lastMessage`.
 */
import type { DtlsSocket, RTCDtlsTransport } from "werift";
import { missingForDtlsWatch, watchDtlsTransports } from "./dtls-transports.js";
import type { WeriftPatch } from "./patch.js";

/** werift's DtlsContext: the record layer's counters and the last flight sent. */
type DtlsContext = DtlsSocket["dtls"];

/** DTLS record header: type(1) version(2) epoch(2) sequence(6) length(2). */
const RECORD_HEADER_SIZE = 13;

/**
 * The highest sequence number of an epoch-1 record in `flight` (werift's
 * last flight: Buffers, each holding one or more DTLS records), or
 * undefined if there is none or the data does not parse as records.
 */
export function finishedRecordSequence(flight: readonly Uint8Array[] | undefined): number | undefined {
  if (!Array.isArray(flight)) return undefined;
  let highest: number | undefined;
  for (const buffer of flight) {
    if (!(buffer instanceof Uint8Array)) continue;
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    let offset = 0;
    while (offset + RECORD_HEADER_SIZE <= buffer.length) {
      const epoch = view.getUint16(offset + 3);
      const sequence = view.getUint16(offset + 5) * 2 ** 32 + view.getUint32(offset + 7);
      const length = view.getUint16(offset + 11);
      if (epoch === 1 && (highest === undefined || sequence > highest)) highest = sequence;
      offset += RECORD_HEADER_SIZE + length;
    }
  }
  return highest;
}

/** `transport`'s DTLS context, if it has one of the shape this workaround knows. */
function dtlsContextOf(transport: RTCDtlsTransport): DtlsContext | undefined {
  const context = transport.dtls?.dtls;
  // Instance fields: typed by werift 0.24.x, checked because an untested werift may differ.
  if (!context || typeof context.recordSequenceNumber !== "number" || !Array.isArray(context.lastMessage)) return undefined;
  return context;
}

/**
 * Moves a connected DTLS transport's record counter past its Finished
 * record's sequence number, if it is not already. Returns whether it did.
 * Safe to call more than once and on transports that are not connected
 * (it then does nothing).
 */
export function repairDtlsRecordSequence(transport: RTCDtlsTransport): boolean {
  const context = dtlsContextOf(transport);
  if (!context) return false;
  const finished = finishedRecordSequence(context.lastMessage);
  if (finished === undefined || context.recordSequenceNumber >= finished) return false;
  // The next record gets finished + 1.
  context.recordSequenceNumber = finished;
  return true;
}

/**
 * Applies {@link repairDtlsRecordSequence} to every DTLS transport of a peer
 * connection the moment its handshake completes, before SCTP sends anything.
 */
export const dtlsRecordSequencePatch: WeriftPatch = {
  name: "dtls-record-sequence",
  missing: missingForDtlsWatch,
  apply(pc) {
    // "connected" is emitted synchronously when the handshake completes, before SCTP starts.
    watchDtlsTransports(pc, (transport, state) => {
      if (state === "connected") repairDtlsRecordSequence(transport);
    });
  },
};
