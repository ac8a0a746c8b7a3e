/**
 * The werift backend as WebRTCConnection and Node frontends configure it: two peers made
 * by `weriftBackend`, negotiated through a real signaling server on 127.0.0.1.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { UDP_SOCKET_BUFFER_BYTES } from "../src/webrtc/backends/werift/patches/udp-buffers.js";
import { dtlsStartedEarly, startDtlsClientNow } from "../src/webrtc/backends/werift/patches/dtls-early-start.js";
import { connectBackendPairAlone } from "./helpers/backend-pair.js";

/** The kernel's cap on a socket buffer that a process may request (Linux), or null elsewhere. */
function sysctlBytes(name: "rmem_max" | "wmem_max"): number | null {
  try {
    return Number(readFileSync(`/proc/sys/net/core/${name}`, "utf8").trim());
  } catch {
    return null;
  }
}

interface UdpSocketInternals {
  getRecvBufferSize(): number;
  getSendBufferSize(): number;
}

/** Every UDP socket of a werift peer connection (werift 0.24.4 internals). */
function udpSockets(pc: unknown): UdpSocketInternals[] {
  const transports = (pc as { iceTransports: Array<{ connection: { protocols: Array<{ transport?: { socket?: UdpSocketInternals } }> } }> }).iceTransports;
  return transports.flatMap((t) => t.connection.protocols.flatMap((p) => (p.transport?.socket ? [p.transport.socket] : [])));
}

describe("werift backend", { timeout: 60_000 }, () => {
  it("enlarges the kernel buffers of its UDP sockets once connected (as far as the kernel allows)", async (t) => {
    const pair = await connectBackendPairAlone(t, "werift", "werift");
    const rmemMax = sysctlBytes("rmem_max");
    const wmemMax = sysctlBytes("wmem_max");
    for (const side of [pair.offerer, pair.answerer]) {
      const sockets = udpSockets(side.pc);
      assert.ok(sockets.length > 0, "werift has UDP sockets");
      for (const socket of sockets) {
        // Linux reports twice the size granted (the kernel's bookkeeping share), capped by the sysctl.
        const recv = socket.getRecvBufferSize();
        const send = socket.getSendBufferSize();
        t.diagnostic(`receive buffer ${recv} B, send buffer ${send} B (rmem_max ${rmemMax}, wmem_max ${wmemMax})`);
        if (rmemMax !== null) assert.equal(recv, 2 * Math.min(UDP_SOCKET_BUFFER_BYTES, rmemMax));
        if (wmemMax !== null) assert.equal(send, 2 * Math.min(UDP_SOCKET_BUFFER_BYTES, wmemMax));
      }
    }
  });
});

describe("werift DTLS start without the 100 ms wait", () => {
  /** A stand-in for werift's RTCDtlsTransport right after it entered "connecting". */
  function transport(role: string, iceRole: string, state = "connecting") {
    const calls: number[] = [];
    let resolveHandshake!: () => void;
    const handshake = new Promise<void>((resolve) => (resolveHandshake = resolve));
    const client = {
      connect: () => {
        calls.push(Date.now());
        return handshake;
      },
    };
    return { value: { role, state, iceTransport: { role: iceRole }, dtls: client }, client, calls, resolveHandshake, handshake };
  }

  it("starts a controlling client's handshake once; werift's own later call gets that same handshake", async () => {
    const t = transport("client", "controlling");
    assert.equal(startDtlsClientNow(t.value), true);
    assert.equal(t.calls.length, 1, "handshake started");
    assert.equal(t.client.connect(), t.handshake, "werift's call after its wait joins the running handshake");
    assert.equal(t.calls.length, 1, "no second first flight");
    assert.equal(startDtlsClientNow(t.value), false, "idempotent");
    t.resolveHandshake();
    await t.handshake;
  });

  it("leaves servers, controlled clients, other states and unknown shapes to werift", () => {
    for (const t of [transport("server", "controlling"), transport("client", "controlled"), transport("client", "controlling", "new"), transport("client", "controlling", "connected")]) {
      assert.equal(startDtlsClientNow(t.value), false);
      assert.equal(t.calls.length, 0);
    }
    for (const junk of [undefined, null, {}, { dtls: {} }, { role: "client", state: "connecting", iceTransport: { role: "controlling" }, dtls: { connect: 1 } }]) {
      assert.equal(startDtlsClientNow(junk), false);
    }
  });

  it("a real offerer (ICE-controlling DTLS client) starts early; the answerer (DTLS server) is left alone", async (t) => {
    const pair = await connectBackendPairAlone(t, "werift", "werift");
    const [offerer] = (pair.offerer.pc as unknown as { dtlsTransports: Array<{ role: string; dtls: object }> }).dtlsTransports;
    const [answerer] = (pair.answerer.pc as unknown as { dtlsTransports: Array<{ role: string; dtls: object }> }).dtlsTransports;
    assert.equal(offerer!.role, "client");
    assert.equal(answerer!.role, "server");
    assert.equal(dtlsStartedEarly(offerer!.dtls), true, "the offerer's client was started without the wait");
    assert.equal(dtlsStartedEarly(answerer!.dtls), false);
    t.diagnostic(`setup ${pair.setupMs.toFixed(0)} ms; offerer ${pair.offerer.stages.join(" ")}`);
  });
});
