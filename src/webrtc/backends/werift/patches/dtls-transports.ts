/**
 * One watcher over a peer connection's DTLS transports, shared by the DTLS workarounds
 * (each sees every state change of every transport, in werift's own dispatch).
 */
import * as werift from "werift";
import type { RTCDtlsTransport, RTCPeerConnection } from "werift";
import { hasGetter, missingMembers } from "./patch.js";

/** A state of werift's RTCDtlsTransport. */
export type DtlsTransportState = RTCDtlsTransport["state"];

/** What the watcher needs of werift's exported classes (see WeriftPatch.missing). */
export function missingForDtlsWatch(): string[] {
  return missingMembers("RTCPeerConnection", { dtlsTransports: hasGetter(werift.RTCPeerConnection.prototype, "dtlsTransports") });
}

/**
 * Calls `onState(transport, state)` for each state change of each DTLS transport of `pc`,
 * and once with its current state when the transport is first seen. Transports are looked
 * up now and at each state change of the peer connection ("connecting": they exist and
 * have not started their handshake). Exceptions from `onState` are swallowed: the
 * workarounds that use this must never disturb werift's own state handling. Everything is
 * unsubscribed when the connection closes or fails.
 */
export function watchDtlsTransports(pc: RTCPeerConnection, onState: (transport: RTCDtlsTransport, state: DtlsTransportState) => void): void {
  const watched = new Set<RTCDtlsTransport>();
  const disposers: Array<() => void> = [];
  const report = (transport: RTCDtlsTransport, state: DtlsTransportState) => {
    try {
      onState(transport, state);
    } catch {
      // Best effort, see above.
    }
  };
  const watchNew = () => {
    for (const transport of dtlsTransportsOf(pc)) {
      if (watched.has(transport)) continue;
      watched.add(transport);
      // Instance members: present in werift 0.24.x, checked because an untested werift may differ.
      if (typeof transport.onStateChange?.subscribe !== "function") continue;
      const subscription = transport.onStateChange.subscribe((state) => report(transport, state));
      disposers.push(() => subscription.unSubscribe());
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

/** `pc`'s DTLS transports; none if werift's getter throws (it must not disturb werift). */
function dtlsTransportsOf(pc: RTCPeerConnection): RTCDtlsTransport[] {
  try {
    return pc.dtlsTransports ?? [];
  } catch {
    return [];
  }
}
