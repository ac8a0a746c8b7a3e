/**
 * Keeps the DTLS datagrams that reach a werift peer before its DTLS socket exists, and
 * hands them to the socket once it does.
 *
 * werift 0.24.4 creates a transport's DtlsServer (or DtlsClient) only when its ICE
 * transport has connected (`RTCDtlsTransport.start`), and the socket subscribes to the ICE
 * connection's data only then; a DTLS datagram that arrives earlier has no subscriber and
 * is dropped. The peer's DTLS client then waits for its retransmit timer (werift's: 0.5 s)
 * before it sends its first flight again. That happens whenever the client is quicker
 * than werift: the two ICE agents learn "connected" at different moments, and the
 * controlled one (werift's ICE checks run in 20 ms steps) can learn it a step later than
 * the controlling one. Measured werift ↔ werift on loopback with our early DTLS start
 * (dtls-early-start.ts), 100 connections in one process: the offerer's first flight
 * reached the answerer before its DTLS server existed once, and that connection took
 * 671 ms instead of 60–170 ms.
 *
 * The workaround: from the moment a DTLS transport is seen (before ICE starts), hold
 * the DTLS datagrams its ICE connection receives while the transport has no socket (at
 * most MAX_HELD_DATAGRAMS: a first flight is one or two, and anyone can send UDP to an
 * open port); when the transport starts connecting, werift creates the socket in the same
 * task, and right after it the held datagrams are delivered again through the ICE
 * connection's own data event, as if they had arrived just then. When werift's shape
 * differs, nothing is held.
 *
 * Everything it touches is public in werift's types: `RTCDtlsTransport.dtls`, `state`,
 * `onStateChange`, `iceTransport.connection` and the connection's `onData` event.
 */
import type { RTCDtlsTransport } from "werift";
import { missingForDtlsWatch, watchDtlsTransports } from "./dtls-transports.js";
import type { WeriftPatch } from "./patch.js";

/** Most datagrams held per transport until its socket exists. */
export const MAX_HELD_DATAGRAMS = 8;

/** Transports whose early datagrams are already being held. */
const holding = new WeakSet<RTCDtlsTransport>();

/** Whether `datagram` is DTLS, by werift's own test (RFC 7983: first byte 20–63). */
function isDtlsDatagram(datagram: Uint8Array): boolean {
  const first = datagram[0];
  return first !== undefined && first > 19 && first < 64;
}

/**
 * Holds the DTLS datagrams that reach `transport`'s ICE connection before its DTLS socket
 * exists and delivers them again right after werift created the socket. Call it while the
 * transport is "new". Returns whether it is holding.
 */
export function holdEarlyDtlsDatagrams(transport: RTCDtlsTransport): boolean {
  const connection = transport.iceTransport?.connection;
  // Instance members: typed by werift 0.24.x, checked because an untested werift may differ.
  if (transport.state !== "new" || transport.dtls || typeof connection?.onData?.subscribe !== "function") return false;
  if (typeof transport.onStateChange?.subscribe !== "function" || holding.has(transport)) return false;
  holding.add(transport);
  const events = connection.onData;
  const held: Buffer[] = [];
  const arrivals = events.subscribe((datagram) => {
    if (transport.dtls === undefined && held.length < MAX_HELD_DATAGRAMS && isDtlsDatagram(datagram)) held.push(datagram);
  });
  const states = transport.onStateChange.subscribe((state) => {
    if (state === "new") return;
    states.unSubscribe();
    // "connecting" is announced just before werift creates the socket, in the same task.
    queueMicrotask(() => {
      arrivals.unSubscribe();
      const early = held.splice(0);
      if (state !== "connecting" || !transport.dtls) return;
      for (const datagram of early) {
        try {
          events.execute(datagram);
        } catch {
          // werift's own handlers catch what a datagram does to them; nothing may escape here.
        }
      }
    });
  });
  return true;
}

/** Applies {@link holdEarlyDtlsDatagrams} to each DTLS transport of a peer connection when it is first seen. */
export const dtlsEarlyDatagramsPatch: WeriftPatch = {
  name: "dtls-early-datagrams",
  missing: missingForDtlsWatch,
  apply(pc) {
    watchDtlsTransports(pc, (transport, state) => {
      if (state === "new") holdEarlyDtlsDatagrams(transport);
    });
  },
};
