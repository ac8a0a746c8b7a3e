/**
 * werift must not ask a STUN server nobody configured.
 *
 * werift (0.24.4) falls back to `stun.l.google.com:19302` when its `iceServers` name no
 * STUN server, even for `iceServers: []`: every gathering resolves that name and queries
 * it, and `setLocalDescription` waits until that is over. Offline the lookup fails at once;
 * where DNS is configured but unreachable (a firewalled network, a container without
 * egress) it runs into its timeout: measured across two network namespaces with a default
 * route and no DNS server behind it, a werift server took 5.5 s instead of 0.47 s to
 * connect a Chromium page. And an application that asked for no STUN server should not
 * talk to a third party. Before each `setLocalDescription` (where werift gathers), this
 * drops the fallback from every ICE connection that was given no STUN server. When
 * werift's shape differs, this does nothing.
 */
import * as werift from "werift";
import type { Connection, RTCPeerConnection } from "werift";
import { hasGetter, hasMethod, isClass, missingMembers, type WeriftPatch } from "./patch.js";

/** Clears the fallback STUN server of `pc`'s ICE connections that were configured without one. */
export function forgetFallbackStunServers(pc: RTCPeerConnection): void {
  for (const transport of pc.iceTransports) {
    const connection = transport.connection as Connection | undefined;
    // `options.stunServer` is what the configuration gave; `stunServer` is werift's fallback.
    if (connection && connection.options?.stunServer === undefined && connection.stunServer !== undefined) {
      connection.stunServer = undefined;
    }
  }
}

export const noDefaultStunPatch: WeriftPatch = {
  name: "no-default-stun",
  missing: () => [
    ...missingMembers("werift", { Connection: isClass(werift.Connection) }),
    ...missingMembers("RTCPeerConnection", {
      iceTransports: hasGetter(werift.RTCPeerConnection.prototype, "iceTransports"),
      setLocalDescription: hasMethod(werift.RTCPeerConnection.prototype, "setLocalDescription"),
    }),
  ],
  apply(pc) {
    const setLocalDescription = pc.setLocalDescription;
    pc.setLocalDescription = function (this: RTCPeerConnection, ...args: Parameters<RTCPeerConnection["setLocalDescription"]>) {
      try {
        forgetFallbackStunServers(pc);
      } catch {
        // werift's shape differs: gather as werift would.
      }
      return setLocalDescription.apply(pc, args);
    } as RTCPeerConnection["setLocalDescription"];
  },
};
