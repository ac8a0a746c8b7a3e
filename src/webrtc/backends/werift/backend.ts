/**
 * The Node WebRTC stack: werift's RTCPeerConnection configured for our data channel, and
 * its adapter to the shared transport. Used by the server peer and by Node frontends.
 */
import { RTCPeerConnection } from "werift";
import { wrapWeriftChannel } from "./port.js";
import { applyWeriftPatches } from "./patches/index.js";
import type { PeerConnectionLike } from "../../negotiation.js";
import type { WebRTCBackend } from "../backend.js";
import { ADVERTISED_MAX_MESSAGE_SIZE } from "../../options.js";

/** werift, the default backend: pure JavaScript, always installed. */
export const weriftBackend: WebRTCBackend = {
  name: "werift",
  createPeerConnection(iceServers, logger) {
    const pc = new RTCPeerConnection({
      // werift defaults to a public STUN server; an empty list keeps it offline unless asked.
      iceServers,
      // werift skips loopback otherwise, and same-machine peers then find no route.
      iceAdditionalHostAddresses: ["127.0.0.1"],
      // Advertise more than werift's 64 KiB so browsers may send us larger fragments; we
      // still fragment at the remote's limit. Never 0: "unlimited" loses large messages.
      maxMessageSize: ADVERTISED_MAX_MESSAGE_SIZE,
    } as ConstructorParameters<typeof RTCPeerConnection>[0]);
    // Every workaround for werift itself (./patches): once per peer connection, before it negotiates.
    applyWeriftPatches(pc, { logger });
    return pc as unknown as PeerConnectionLike;
  },
  wrapChannel(channel, pc) {
    return wrapWeriftChannel(channel as never, pc as never);
  },
  closePeerConnection(pc) {
    void (pc as unknown as RTCPeerConnection).close().catch(() => {});
  },
};
