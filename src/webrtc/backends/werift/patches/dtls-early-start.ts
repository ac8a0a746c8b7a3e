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
 * The wait matters only when the client can be first. Our negotiation makes
 * the answerer the DTLS server (`a=setup:passive` in its answer, see withAnswerSetup in webrtc/sdp.ts),
 * so a werift client is the offerer, which is ICE-controlling: it learns that
 * ICE connected from the answer to its nominating check, after the controlled
 * answerer has processed that check. The answerer usually has its DTLS server
 * by then (measured 0.2–5 ms ahead), but not always: werift's controlled agent
 * may notice "connected" one 20 ms ICE step later. A browser or libdatachannel
 * server listens once its ICE is connected; a werift server keeps what arrives
 * early (dtls-early-datagrams.ts). So a controlling client may start at once.
 * A controlled client (the peer chose our role) keeps werift's wait.
 *
 * How: when such a transport enters "connecting", werift has just created
 * its DtlsClient and awaits the timer; we start the client's handshake right
 * away and make the client's `connect` return that same handshake when
 * werift calls it after its wait, so the handshake runs once. The outcome
 * still reaches werift through its own subscriptions (connect, error). If
 * werift's internals differ from this shape, nothing is changed.
 *
 * Everything it touches is public in werift's types: the transport's `role`,
 * `state`, `iceTransport.role` and `dtls` (a `DtlsClient`, whose `connect`
 * is replaced on that one instance).
 */
import * as werift from "werift";
import type { DtlsClient, RTCDtlsTransport } from "werift";
import { missingForDtlsWatch, watchDtlsTransports } from "./dtls-transports.js";
import { hasGetter, hasMethod, isClass, missingMembers, type WeriftPatch } from "./patch.js";

/** Clients whose `connect` we have already taken over. */
const startedEarly = new WeakSet<DtlsClient>();

/**
 * Starts the DTLS handshake of `transport` now if it is werift's client on the
 * ICE-controlling side and has not sent its first flight. Returns whether it did.
 */
export function startDtlsClientNow(transport: RTCDtlsTransport): boolean {
  const client = transport.dtls;
  if (!(client instanceof werift.DtlsClient)) return false;
  if (transport.role !== "client" || transport.iceTransport?.role !== "controlling" || transport.state !== "connecting") return false;
  if (startedEarly.has(client)) return false;
  startedEarly.add(client);
  const handshake = client.connect();
  // werift's own call, after its wait, gets this same handshake (and its outcome).
  client.connect = () => handshake;
  // werift attaches its handler when it calls connect; until then, do not report a rejection as unhandled.
  handshake.catch(() => {});
  return true;
}

/**
 * Applies {@link startDtlsClientNow} to each DTLS transport of a peer connection
 * when it starts connecting.
 */
export const dtlsEarlyStartPatch: WeriftPatch = {
  name: "dtls-early-start",
  missing: () => {
    const classes = missingMembers("werift", { DtlsClient: isClass(werift.DtlsClient), RTCIceTransport: isClass(werift.RTCIceTransport) });
    if (classes.length > 0) return classes;
    return [
      ...missingForDtlsWatch(),
      ...missingMembers("RTCIceTransport", { role: hasGetter(werift.RTCIceTransport.prototype, "role") }),
      ...missingMembers("DtlsClient", { connect: hasMethod(werift.DtlsClient.prototype, "connect") }),
    ];
  },
  apply(pc) {
    watchDtlsTransports(pc, (transport, state) => {
      // werift emits "connecting" just before it creates the client and starts its 100 ms
      // wait; the client exists once the current task has run. (Failures there are left to
      // werift's own, slower path.)
      if (state === "connecting") setImmediate(() => startOutsideWerift(transport));
    });
  },
};

/** {@link startDtlsClientNow} outside werift's call stack: nothing it throws may escape. */
function startOutsideWerift(transport: RTCDtlsTransport): void {
  try {
    startDtlsClientNow(transport);
  } catch {
    // werift keeps its own (slower) path.
  }
}
