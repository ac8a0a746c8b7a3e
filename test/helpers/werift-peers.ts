/**
 * Two bare werift peers in this process, connected directly: SDP and candidates handed
 * over in process, loopback ICE, werift's own DTLS roles (its answer says
 * `a=setup:active`). A offers and creates the channel "bonito"; B answers.
 */
import { RTCPeerConnection, type RTCDataChannel } from "werift";
import { within } from "./payload.js";

export interface WeriftPeers {
  pcA: RTCPeerConnection;
  pcB: RTCPeerConnection;
  dcA: RTCDataChannel;
  dcB: RTCDataChannel;
}

export interface WeriftPeersOptions {
  /** What each side advertises as `a=max-message-size`. Default 256 KiB both. */
  maxMessageSize?: { a: number; b: number };
  /** Called on each peer right after it is created (A first): register cleanups, apply patches. */
  prepare?: (pc: RTCPeerConnection) => void;
}

/** Resolves once both ends of the channel are open. */
export async function connectWeriftPeers(options: WeriftPeersOptions = {}): Promise<WeriftPeers> {
  const config = { iceServers: [], iceAdditionalHostAddresses: ["127.0.0.1"] };
  const maxMessageSize = options.maxMessageSize ?? { a: 256 * 1024, b: 256 * 1024 };
  const pcA = new RTCPeerConnection({ ...config, maxMessageSize: maxMessageSize.a });
  options.prepare?.(pcA);
  const pcB = new RTCPeerConnection({ ...config, maxMessageSize: maxMessageSize.b });
  options.prepare?.(pcB);
  pcA.onIceCandidate.subscribe((candidate) => {
    if (candidate) pcB.addIceCandidate(candidate).catch(() => undefined);
  });
  pcB.onIceCandidate.subscribe((candidate) => {
    if (candidate) pcA.addIceCandidate(candidate).catch(() => undefined);
  });
  const dcA = pcA.createDataChannel("bonito");
  const remote = new Promise<RTCDataChannel>((resolve) => pcB.onDataChannel.subscribe(resolve));
  await pcA.setLocalDescription(await pcA.createOffer());
  await pcB.setRemoteDescription(pcA.localDescription!);
  await pcB.setLocalDescription(await pcB.createAnswer());
  await pcA.setRemoteDescription(pcB.localDescription!);
  const dcB = await within(remote, 10_000, "remote data channel");
  await within(Promise.all([whenOpen(dcA), whenOpen(dcB)]), 10_000, "data channels open");
  return { pcA, pcB, dcA, dcB };
}

function whenOpen(dc: RTCDataChannel): Promise<void> {
  return new Promise((resolve) => (dc.readyState === "open" ? resolve() : dc.once("open", () => resolve())));
}
