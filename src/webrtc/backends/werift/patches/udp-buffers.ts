/**
 * Larger kernel buffers for werift's UDP sockets.
 *
 * werift reads its socket on the JavaScript thread. While that thread is busy
 * (encrypting a burst of outgoing packets, a garbage collection, the
 * application's own work) datagrams queue in the kernel, and with Linux's
 * default 208 KiB receive buffer a burst from a fast peer overflows it: the
 * kernel drops packets (`RcvbufErrors` in /proc/net/snmp), SCTP halves its
 * congestion window and retransmits, and throughput both falls and becomes
 * erratic. Measured here, werift ↔ werift, 1 MiB messages, two processes:
 * ~0.75 % of datagrams dropped with the default buffer, none with 4 MiB, and
 * 10–20 % more throughput (bench `throughput-1MiB node→node`).
 *
 * The kernel caps the size at `net.core.rmem_max` / `wmem_max` (often the
 * same 208 KiB on a stock system, where this changes nothing; raise those
 * sysctls to benefit).
 *
 * The sockets are reached through public members of werift's types: each ICE
 * transport's `connection`, its candidate pairs (`checkList`, `nominated`),
 * each pair's protocol (STUN or TURN) and that protocol's `UdpTransport`,
 * which holds the socket. Every local socket that can carry data belongs to
 * some pair. When werift's shape differs, this does nothing.
 */
import type { Socket } from "node:dgram";
import * as werift from "werift";
import type { CandidatePair, RTCPeerConnection } from "werift";
import { hasGetter, isClass, missingMembers, type WeriftPatch } from "./patch.js";

/** Requested size of each socket's receive and send buffer. */
export const UDP_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** The UDP sockets of `pc`'s candidate pairs, each once (TCP transports have none). */
export function udpSocketsOf(pc: RTCPeerConnection): Socket[] {
  const sockets = new Set<Socket>();
  for (const ice of pc.iceTransports) {
    const connection = ice.connection;
    // Instance fields: typed by werift 0.24.x, checked because an untested werift may differ.
    const pairs: Array<CandidatePair | undefined> = [...(Array.isArray(connection?.checkList) ? connection.checkList : []), connection?.nominated];
    for (const pair of pairs) {
      const protocol = pair?.protocol;
      if (!(protocol instanceof werift.StunProtocol || protocol instanceof werift.TurnProtocol)) continue;
      const transport = protocol.transport;
      if (transport instanceof werift.UdpTransport && isUdpSocket(transport.socket)) sockets.add(transport.socket);
    }
  }
  return [...sockets];
}

/** Enlarges the buffers of every UDP socket of a peer connection once its ICE transport has connected. */
export const udpBuffersPatch: WeriftPatch = {
  name: "udp-buffers",
  missing: () => [
    ...missingMembers("werift", { StunProtocol: isClass(werift.StunProtocol), TurnProtocol: isClass(werift.TurnProtocol), UdpTransport: isClass(werift.UdpTransport) }),
    ...missingMembers("RTCPeerConnection", { iceTransports: hasGetter(werift.RTCPeerConnection.prototype, "iceTransports") }),
  ],
  apply(pc) {
    const subscription = pc.iceConnectionStateChange.subscribe((state) => {
      if (state === "connected") enlargeBuffers(pc, UDP_SOCKET_BUFFER_BYTES);
      if (state === "connected" || state === "closed" || state === "failed") subscription.unSubscribe();
    });
  },
};

function enlargeBuffers(pc: RTCPeerConnection, bytes: number): void {
  let sockets: Socket[];
  try {
    sockets = udpSocketsOf(pc);
  } catch {
    return; // werift's shape differs: nothing to do.
  }
  for (const socket of sockets) {
    try {
      socket.setRecvBufferSize(bytes);
      socket.setSendBufferSize(bytes);
    } catch {
      // A socket closed meanwhile, or a platform that refuses: the default buffers still work.
    }
  }
}

function isUdpSocket(value: unknown): value is Socket {
  const socket = value as Partial<Socket> | null | undefined;
  return typeof socket?.setRecvBufferSize === "function" && typeof socket.setSendBufferSize === "function";
}
