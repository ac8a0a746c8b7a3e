/**
 * The Node WebRTC stack: werift's RTCPeerConnection configured for our data channel, and
 * its adapter to the shared transport. Used by the server peer and by Node frontends.
 */
import { networkInterfaces } from "node:os";
import { RTCPeerConnection } from "werift";
import { wrapWeriftChannel } from "./port.js";
import { applyWeriftPatches } from "./patches/index.js";
import type { PeerConnectionLike } from "../../negotiation.js";
import type { WebRTCBackend } from "../backend.js";
import { ADVERTISED_MAX_MESSAGE_SIZE } from "../../options.js";

/** werift, the default backend: pure JavaScript, always installed. */
export const weriftBackend: WebRTCBackend = {
  name: "werift",
  answerSetup: "passive",
  createPeerConnection(iceServers, { policy = "all", logger } = {}) {
    const pc = new RTCPeerConnection({
      // werift adds a public STUN server to an empty list; the no-default-stun patch removes it.
      iceServers,
      iceTransportPolicy: policy,
      ...(needsLoopbackCandidate() ? { iceAdditionalHostAddresses: ["127.0.0.1"] } : {}),
      // Advertise more than werift's 64 KiB so browsers may send us larger fragments; we
      // still fragment at the remote's limit. Never 0: "unlimited" loses large messages.
      maxMessageSize: ADVERTISED_MAX_MESSAGE_SIZE,
    } as ConstructorParameters<typeof RTCPeerConnection>[0]);
    // Every workaround for werift itself (./patches): once per peer connection, before it negotiates.
    applyWeriftPatches(pc, logger ? { logger } : {});
    return pc as unknown as PeerConnectionLike;
  },
  wrapChannel(channel, pc, options) {
    return wrapWeriftChannel(channel as never, pc as never, options);
  },
  closePeerConnection(pc) {
    void (pc as unknown as RTCPeerConnection).close().catch(() => {});
  },
};

/** Interface name prefixes werift (0.24) gathers no candidates on (VPNs, virtual bridges). */
const SKIPPED_INTERFACES = ["ipsec", "tun", "utun", "tap", "vmnet", "veth"];

/**
 * Whether werift needs 127.0.0.1 as an extra host candidate: only when it would gather none
 * otherwise (it skips loopback), i.e. on a host whose only interface is `lo`.
 *
 * Why not always: that candidate also reaches peers on other machines, where it can never
 * work, and a controlling peer that waits for its higher-priority pairs to fail before it
 * nominates (libdatachannel does) then takes ~2 s longer to connect: measured across two
 * network namespaces, node-datachannel server to werift frontend, 2.5 s with it and 0.5 s
 * without. Peers on one machine with an interface meet on that interface's address.
 */
function needsLoopbackCandidate(): boolean {
  return !Object.entries(networkInterfaces()).some(
    ([name, addresses]) =>
      !SKIPPED_INTERFACES.some((prefix) => name.startsWith(prefix)) &&
      (addresses ?? []).some((address) => !address.internal && !address.address.startsWith("169.254.") && !address.address.startsWith("fe80:")),
  );
}
