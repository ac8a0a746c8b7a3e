/**
 * werift's ICE consent checks must not fail a connection whose peer answers late.
 *
 * werift (0.24.4) refreshes consent (RFC 7675) with one STUN request every 4–6 s, sent once,
 * and takes its answer only within max(500 ms, 2 × RTT + 200 ms) (on loopback: 500 ms);
 * starting the next request aborts the previous one. An answer that arrives later is thrown
 * away, and 30 s after the last answer that came in time werift fails the connection (ICE
 * and peer connection `failed`), which ends the session. Answers arrive late whenever this
 * process reads its socket late: when the CPU is saturated (event-loop delays of 1–2 s
 * measured at a load average of 8–11 on 2 cores), or when the answer waits in the socket's
 * receive buffer behind a burst of data (up to 4 MiB of it, see udp-buffers.ts). Measured
 * with `npm run stress:load` (eight busy loops on two cores, load average 10–14): werift
 * logged a consent request without an answer in time every 4–6 s through a 32 MiB echo,
 * then "Consent to send expired", and 3 of 8 Node ↔ Node sessions failed although the peer
 * had answered every request; with this workaround none of 8 did.
 *
 * The workaround: a consent request (werift's options form of `request` with no
 * retransmission and an abort signal; connectivity checks pass a number) waits for its
 * answer for the whole consent timeout (30 s), and the next request no longer aborts it, so
 * any answer that arrives while consent is still valid renews it. A peer that stops
 * answering still loses consent 30 s after its last answer (and the data channel's own
 * heartbeat notices a vanished peer within seconds). Closing or failing the ICE transport
 * ends the requests still waiting.
 *
 * Installed on the STUN/TURN protocols of `pc`'s ICE transports when they connect (the
 * first consent request goes out 4–6 s later). Everything it touches is public in werift's
 * types: `RTCPeerConnection.iceTransports`, each transport's `connection`, its candidate
 * pairs and their `protocol.request`.
 */
import * as werift from "werift";
import type { CandidatePair, Protocol, RTCPeerConnection, TransactionRequestOptions } from "werift";
import { hasGetter, missingMembers, type WeriftPatch } from "./patch.js";

/** How long a consent request waits for its answer: as long as consent lasts without one. */
function consentPatienceMs(): number {
  return werift.CONSENT_TIMEOUT * 1000;
}

/** Whether `options` are those of werift's consent requests (sent once, abortable). */
export function isConsentRequest(options: number | TransactionRequestOptions | undefined): options is TransactionRequestOptions {
  return typeof options === "object" && options !== null && options.retransmissions === 0 && options.signal !== undefined;
}

export const iceConsentPatch: WeriftPatch = {
  name: "ice-consent",
  missing: () => [
    ...missingMembers("werift", { CONSENT_TIMEOUT: typeof werift.CONSENT_TIMEOUT === "number" }),
    ...missingMembers("RTCPeerConnection", { iceTransports: hasGetter(werift.RTCPeerConnection.prototype, "iceTransports") }),
  ],
  apply(pc) {
    const teardown = new AbortController();
    const subscription = pc.iceConnectionStateChange.subscribe((state) => {
      if (state === "connected" || state === "completed") patientConsentRequests(pc, teardown.signal);
      if (state === "closed" || state === "failed") {
        teardown.abort();
        subscription.unSubscribe();
      }
    });
  },
};

const patched = new WeakSet<Protocol>();

/** Makes the consent requests of every protocol of `pc`'s candidate pairs wait for a late answer. */
function patientConsentRequests(pc: RTCPeerConnection, teardown: AbortSignal): void {
  for (const ice of pc.iceTransports) {
    const connection = ice.connection;
    // Instance fields: typed by werift 0.24.x, checked because an untested werift may differ.
    const pairs: Array<CandidatePair | undefined> = [...(Array.isArray(connection?.checkList) ? connection.checkList : []), connection?.nominated];
    for (const pair of pairs) {
      const protocol = pair?.protocol;
      if (protocol && typeof protocol.request === "function" && !patched.has(protocol)) {
        patched.add(protocol);
        wrapRequest(protocol, teardown);
      }
    }
  }
}

function wrapRequest(protocol: Protocol, teardown: AbortSignal): void {
  const request = protocol.request;
  protocol.request = (message, addr, integrityKey, options, onRequestSent) => {
    if (!isConsentRequest(options)) return request.call(protocol, message, addr, integrityKey, options, onRequestSent);
    // Without werift's signal, which the next request would abort; the connection's end still does.
    const { signal: _abortedByNextRequest, ...rest } = options;
    return request.call(protocol, message, addr, integrityKey, { ...rest, responseTimeout: consentPatienceMs(), signal: teardown }, onRequestSent);
  };
}
