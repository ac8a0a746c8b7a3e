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
 */
import type { RTCPeerConnection } from "werift";

/** The fields of werift's DtlsContext that this workaround reads and writes. */
interface DtlsContextLike {
  recordSequenceNumber: number;
  lastMessage?: unknown;
}

/** What watchDtlsTransports needs of an RTCDtlsTransport (werift 0.24.4). @internal */
export interface WatchedDtlsTransport {
  id?: string;
  state?: string;
  onStateChange?: { subscribe(callback: (state: string) => void): { unSubscribe(): void } };
}

/** What we reach through an RTCDtlsTransport (`transport.dtls.dtls`, werift 0.24.4). */
interface DtlsTransportLike extends WatchedDtlsTransport {
  dtls?: { dtls?: DtlsContextLike };
}

/** DTLS record header: type(1) version(2) epoch(2) sequence(6) length(2). */
const RECORD_HEADER_SIZE = 13;

/**
 * The highest sequence number of an epoch-1 record in `flight` (werift's
 * last flight: an array of Buffers, each holding one or more DTLS records),
 * or undefined if there is none or the data does not parse as records.
 */
export function finishedRecordSequence(flight: unknown): number | undefined {
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

/**
 * Moves a connected DTLS transport's record counter past its Finished
 * record's sequence number, if it is not already. Returns whether it did.
 * Safe to call more than once and on transports that are not connected
 * (it then does nothing).
 */
export function repairDtlsRecordSequence(transport: unknown): boolean {
  const context = (transport as DtlsTransportLike | null | undefined)?.dtls?.dtls;
  if (!context || typeof context.recordSequenceNumber !== "number") return false;
  const finished = finishedRecordSequence(context.lastMessage);
  if (finished === undefined || context.recordSequenceNumber >= finished) return false;
  // The next record gets finished + 1.
  context.recordSequenceNumber = finished;
  return true;
}

/**
 * Applies {@link repairDtlsRecordSequence} to every DTLS transport of `pc`
 * the moment its handshake completes, before SCTP sends anything, and to
 * any already connected. Call it right after creating the peer connection.
 */
export function guardDtlsRecordSequence(pc: RTCPeerConnection): void {
  // "connected" is emitted synchronously when the handshake completes, before SCTP starts.
  watchDtlsTransports<DtlsTransportLike>(pc, (transport, state) => {
    if (state === "connected") repairDtlsRecordSequence(transport);
  });
}

/**
 * Calls `onState(transport, state)` for each state change of each DTLS
 * transport of `pc`, and once with its current state when the transport is
 * first seen. Transports are looked up now and at each state change of the
 * peer connection ("connecting": they exist and have not started their
 * handshake). Exceptions from `onState` are swallowed: the workarounds that
 * use this must never disturb werift's own state handling. Everything is
 * unsubscribed when the connection closes or fails. @internal
 */
export function watchDtlsTransports<T extends WatchedDtlsTransport>(
  pc: RTCPeerConnection,
  onState: (transport: T, state: string) => void,
): void {
  const watched = new Set<unknown>();
  const disposers: Array<() => void> = [];
  const report = (transport: T, state: string | undefined) => {
    if (state === undefined) return;
    try {
      onState(transport, state);
    } catch {
      // Best effort, see above.
    }
  };
  const watchNew = () => {
    for (const transport of dtlsTransportsOf<T>(pc)) {
      const key = transport.id ?? transport;
      if (watched.has(key)) continue;
      watched.add(key);
      const subscription = transport.onStateChange?.subscribe((state) => report(transport, state));
      if (subscription) disposers.push(() => subscription.unSubscribe());
      report(transport, transport.state);
    }
  };
  const states = pc.connectionStateChange.subscribe((state) => {
    if (state === "closed" || state === "failed") {
      states.unSubscribe();
      for (const unsubscribe of disposers.splice(0)) unsubscribe();
    } else {
      watchNew();
    }
  });
  watchNew();
}

/** `pc`'s DTLS transports, seen as `T` (the internals the caller uses); none if werift changed. */
function dtlsTransportsOf<T>(pc: RTCPeerConnection): T[] {
  try {
    return (pc.dtlsTransports ?? []) as unknown as T[];
  } catch {
    return [];
  }
}
