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
 * sysctls to benefit). Sockets are reached through werift's internals
 * (ICE connection → protocols → transport → socket, werift 0.24.4); when
 * those change, this does nothing.
 */
import type { RTCPeerConnection } from "werift";

/** Requested size of each socket's receive and send buffer. */
export const UDP_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** The part of Node's dgram.Socket this uses. */
interface UdpSocketLike {
  setRecvBufferSize(bytes: number): void;
  setSendBufferSize(bytes: number): void;
}

interface IceTransportInternals {
  connection?: { protocols?: Array<{ transport?: { socket?: unknown } }> };
}

/** Enlarges the buffers of every UDP socket `pc` has once its ICE transport has connected. */
export function enlargeUdpBuffers(pc: RTCPeerConnection, bytes = UDP_SOCKET_BUFFER_BYTES): void {
  const subscription = pc.iceConnectionStateChange.subscribe((state) => {
    if (state === "connected") applyToSockets(pc, bytes);
    if (state === "connected" || state === "closed" || state === "failed") subscription.unSubscribe();
  });
}

function applyToSockets(pc: RTCPeerConnection, bytes: number): void {
  for (const transport of pc.iceTransports as unknown as IceTransportInternals[]) {
    for (const protocol of transport.connection?.protocols ?? []) {
      const socket = protocol.transport?.socket;
      if (!isUdpSocket(socket)) continue; // TCP or TURN transports have none.
      try {
        socket.setRecvBufferSize(bytes);
        socket.setSendBufferSize(bytes);
      } catch {
        // A socket closed meanwhile, or a platform that refuses: the default buffers still work.
      }
    }
  }
}

function isUdpSocket(value: unknown): value is UdpSocketLike {
  const socket = value as Partial<UdpSocketLike> | null | undefined;
  return typeof socket?.setRecvBufferSize === "function" && typeof socket.setSendBufferSize === "function";
}
