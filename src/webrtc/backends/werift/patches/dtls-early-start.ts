/**
 * Starts werift's DTLS handshake as soon as the controlling side's ICE has
 * connected, instead of 100 ms later.
 *
 * werift 0.24.4 (`RTCDtlsTransport.start`, webrtc/src/transport/dtls.ts)
 * waits a fixed 100 ms before a DTLS client sends its first flight, so that
 * the peer's DTLS server is listening by then (werift itself drops DTLS
 * packets that arrive before its server exists). That wait was most of
 * werift's connection setup: ~175 ms werift ↔ werift on loopback, of which
 * ICE took ~40 ms and the DTLS handshake itself ~15 ms.
 *
 * The wait is needed only when the client can be first. Our negotiation makes
 * the answerer the DTLS server (`a=setup:passive`, see preferPassiveAnswer),
 * so a werift client is the offerer, which is ICE-controlling: it learns that
 * ICE connected from the answer to its nominating check, and the controlled
 * answerer has processed that check (connected, started its DTLS server)
 * before answering it. So a controlling client may start at once. A
 * controlled client (the peer chose our role) keeps werift's wait.
 *
 * How: when such a transport enters "connecting", werift has just created
 * its DtlsClient and awaits the timer; we start the client's handshake right
 * away and make the client's `connect` return that same handshake when
 * werift calls it after its wait, so the handshake runs once. The outcome
 * still reaches werift through its own subscriptions (connect, error). If
 * werift's internals differ from this shape, nothing is changed.
 */
import type { RTCPeerConnection } from "werift";
import { watchDtlsTransports, type WatchedDtlsTransport } from "./dtls-record-sequence.js";

/** What we reach through an RTCDtlsTransport (werift 0.24.4). */
interface DtlsTransportInternals extends WatchedDtlsTransport {
  role?: string;
  iceTransport?: { role?: string };
  dtls?: { connect?: () => Promise<void> };
}

/** Marks a DtlsClient whose `connect` we have already taken over. */
const startedEarly = new WeakSet<object>();

/**
 * Starts the DTLS handshake of `transport` now if it is werift's client on the
 * ICE-controlling side and has not sent its first flight. Returns whether it did.
 */
export function startDtlsClientNow(transport: unknown): boolean {
  const t = transport as DtlsTransportInternals | null | undefined;
  const client = t?.dtls;
  if (!t || !client || typeof client.connect !== "function") return false;
  if (t.role !== "client" || t.iceTransport?.role !== "controlling" || t.state !== "connecting") return false;
  if (startedEarly.has(client)) return false;
  startedEarly.add(client);
  const handshake = client.connect.call(client);
  // werift's own call, after its wait, gets this same handshake (and its outcome).
  client.connect = () => handshake;
  // werift attaches its handler when it calls connect; until then, do not report a rejection as unhandled.
  handshake.catch(() => {});
  return true;
}

/** Whether `client` (werift's DtlsClient) was started by {@link startDtlsClientNow}. */
export function dtlsStartedEarly(client: object): boolean {
  return startedEarly.has(client);
}

/**
 * Applies {@link startDtlsClientNow} to each DTLS transport of `pc` when it
 * starts connecting. Call it right after creating the peer connection.
 */
export function startDtlsWithoutDelay(pc: RTCPeerConnection): void {
  watchDtlsTransports<DtlsTransportInternals>(pc, (transport, state) => {
    // werift emits "connecting" just before it creates the client and starts its 100 ms
    // wait; the client exists once the current task has run. (Failures there are left to
    // werift's own, slower path.)
    if (state === "connecting") setImmediate(() => watchedStart(transport));
  });
}

/** {@link startDtlsClientNow} outside werift's call stack: nothing it throws may escape. */
function watchedStart(transport: DtlsTransportInternals): void {
  try {
    startDtlsClientNow(transport);
  } catch {
    // werift keeps its own (slower) path.
  }
}
