/**
 * Two peers made by the Node WebRTC backends, negotiated through a real signaling server
 * with the shared negotiation code, and closed after the test (channel first). For tests
 * of a backend itself, below FramedChannel and the session.
 */
import { WebSocket } from "ws";
import { connectSignaling, SignalingServer } from "../../src/signaling/index.js";
import { loadBackend, type BackendName, type WebRTCBackend } from "../../src/webrtc/backends/index.js";
import {
  negotiateAsAnswerer,
  negotiateAsOfferer,
  type DataChannelLike,
  type NegotiationStage,
  type OffererOutgoing,
  type PeerConnectionLike,
  type SignalingPort,
} from "../../src/webrtc/negotiation.js";

/** One side of a connected pair. */
export interface PairSide {
  backend: WebRTCBackend;
  pc: PeerConnectionLike;
  dc: DataChannelLike;
  /** Negotiation milestones, `stage@ms`. */
  stages: string[];
}

export interface BackendPair {
  offerer: PairSide;
  answerer: PairSide;
  /** From opening the room until both channels are open. */
  setupMs: number;
  /** The session descriptions as they went through signaling. */
  offerSdp: string;
  answerSdp: string;
}

/** Where cleanups go: a node:test context, or anything with the same `after`. */
export interface CleanupScope {
  after(fn: () => unknown): void;
}

/** {@link connectBackendPair} through a standalone signaling server of its own, closed after `t`. */
export async function connectBackendPairAlone(t: CleanupScope, offererName: BackendName, answererName: BackendName): Promise<BackendPair> {
  const server = new SignalingServer({ mode: "standalone" });
  t.after(() => server.close());
  return connectBackendPair(t, server, "pair", offererName, answererName);
}

/** Connect an offerer on `offererName` to an answerer on `answererName` through `server`. */
export async function connectBackendPair(
  t: CleanupScope,
  server: SignalingServer,
  sessionId: string,
  offererName: BackendName,
  answererName: BackendName,
): Promise<BackendPair> {
  const [offererBackend, answererBackend] = await Promise.all([loadBackend(offererName), loadBackend(answererName)]);
  const offererStages: string[] = [];
  const answererStages: string[] = [];
  const log = (stages: string[]) => (stage: NegotiationStage, ms: number) => stages.push(`${stage}@${ms}`);
  const started = performance.now();
  const room = await server.openRoom(sessionId);
  const offererPc = offererBackend.createPeerConnection([]);
  const answererPc = answererBackend.createPeerConnection([]);
  const sides: Array<{ backend: WebRTCBackend; pc: PeerConnectionLike; dc?: DataChannelLike }> = [
    { backend: offererBackend, pc: offererPc },
    { backend: answererBackend, pc: answererPc },
  ];
  t.after(() => {
    for (const side of sides) {
      try {
        side.dc?.close();
      } catch {
        // already closed
      }
      side.backend.closePeerConnection(side.pc);
    }
  });
  let offerSdp = "";
  let answerSdp = "";
  room.onMessage((msg) => {
    if (msg.type === "answer") answerSdp = msg.sdp;
  });
  // The room as the offerer's port, recording the offer as it is sent.
  const port: SignalingPort<OffererOutgoing> = {
    send: (msg) => {
      if (msg.type === "offer") offerSdp = msg.sdp;
      return room.send(msg);
    },
    onMessage: (callback) => room.onMessage(callback),
    onClose: (callback) => room.onClose(callback),
  };
  const offered = negotiateAsOfferer(offererPc, port, { onProgress: log(offererStages), timeoutMs: 10_000 });
  const client = await connectSignaling(room.url, { sessionId, token: room.token, WebSocket, timeoutMs: 5_000 });
  t.after(() => client.close());
  const answered = negotiateAsAnswerer(answererPc, client, {
    onProgress: log(answererStages),
    timeoutMs: 10_000,
    answererDtlsRole: offererBackend.answerSetup,
  });
  const [offererDc, answererDc] = await Promise.all([offered, answered]);
  sides[0]!.dc = offererDc;
  sides[1]!.dc = answererDc;
  const setupMs = performance.now() - started;
  room.close();
  client.close();
  return {
    offerer: { backend: offererBackend, pc: offererPc, dc: offererDc, stages: offererStages },
    answerer: { backend: answererBackend, pc: answererPc, dc: answererDc, stages: answererStages },
    setupMs,
    offerSdp,
    answerSdp,
  };
}
