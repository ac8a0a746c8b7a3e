/**
 * The WebRTC negotiation state machine, shared by the Node server peer, the
 * browser and the Node frontend peer. The platform's RTCPeerConnection is
 * passed in; only the W3C API surface that werift also implements is used.
 *
 * Roles: the server peer offers and creates the one data
 * channel; the frontend answers. ICE candidates trickle both ways through the
 * signaling port; remote candidates that arrive before the remote description
 * are buffered, local ones are held until our description has been sent.
 * Success is the data channel's `open` event, never an ICE state: werift
 * reports iceConnectionState "completed" when gathering ends, before checks.
 */
import type { CandidateInit } from "../signaling/schema.js";
import { BonitoError } from "../core/errors.js";
import { DEFAULT_NEGOTIATION_TIMEOUT_MS } from "../core/constants.js";
import { isRelayCandidate, setupRole, withAnswerSetup, withoutNonRelayCandidates } from "./sdp.js";

/** Label of the single data channel ("bonito", ordered, reliable). */
export const CHANNEL_LABEL = "bonito";


/**
 * Default time the answerer keeps the offerer's candidates back after applying the offer.
 *
 * Why: the answerer has the offerer's candidates first, so left alone its ICE checks
 * succeed, and its DTLS starts, before the offerer has even received the answer. Offerers
 * mishandle DTLS that arrives that early: werift and libdatachannel drop it (the
 * handshake then waits for a 1 s retransmit), and libdatachannel, whose ICE then connects
 * the instant the answer is applied, can verify the peer's certificate before it has
 * stored the answer's fingerprint and fail the handshake ("certificate verify failed";
 * measured about once in 8 connections with Chromium or node-datachannel answering). While
 * the answerer holds back, ICE connects through the offerer's own checks, which it sends
 * only once the answer is applied. On loopback and LANs this costs nothing (the offerer's
 * checks arrive first); where only the answerer's checks can get through (some NATs, TURN
 * permissions), its checks start this much later.
 */
export const DEFAULT_CANDIDATE_HOLD_MS = 200;

/** An ICE candidate as delivered by `icecandidate` events (DOM RTCIceCandidate, werift's RTCIceCandidate). */
export interface IceCandidateLike {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/** The part of RTCDataChannel that negotiation needs; werift's, the DOM's and node-datachannel's fit. */
export interface DataChannelLike {
  readonly label: string;
  readonly readyState: string;
  close(): void;
  addEventListener(type: "open" | "close", listener: () => void): void;
  removeEventListener(type: "open" | "close", listener: () => void): void;
}

/** A session description as returned by createOffer/createAnswer. */
export interface DescriptionLike {
  type: string;
  sdp?: string;
}

type StateEventType = "iceconnectionstatechange" | "connectionstatechange";

/** The part of RTCPeerConnection that negotiation needs; werift's, the DOM's and node-datachannel's fit. */
export interface PeerConnectionLike<DC extends DataChannelLike = DataChannelLike> {
  readonly connectionState: string;
  readonly iceConnectionState: string;
  readonly localDescription: { readonly sdp: string } | null;
  createDataChannel(label: string, init?: { ordered?: boolean }): DC;
  createOffer(): Promise<DescriptionLike>;
  createAnswer(): Promise<DescriptionLike>;
  setLocalDescription(description: { type: "offer" | "answer"; sdp: string }): Promise<unknown>;
  setRemoteDescription(description: { type: "offer" | "answer"; sdp: string }): Promise<unknown>;
  addIceCandidate(candidate: CandidateInit | null): Promise<void>;
  addEventListener(type: "icecandidate", listener: (event: { candidate?: IceCandidateLike | null }) => void): void;
  addEventListener(type: "datachannel", listener: (event: { channel: DC }) => void): void;
  addEventListener(type: StateEventType, listener: () => void): void;
  removeEventListener(type: "icecandidate", listener: (event: { candidate?: IceCandidateLike | null }) => void): void;
  removeEventListener(type: "datachannel", listener: (event: { channel: DC }) => void): void;
  removeEventListener(type: StateEventType, listener: () => void): void;
}

/** A trickled candidate, or `null` for the end of candidates. */
export type CandidateSignal = { type: "candidate"; candidate: CandidateInit | null };

/** Giving up, with a human-readable reason. */
export type ByeSignal = { type: "bye"; reason?: string };

/** What the offerer sends (the server's Room accepts exactly these). */
export type OffererOutgoing = { type: "offer"; sdp: string } | CandidateSignal | ByeSignal;

/** What the answerer sends (a subset of what the signaling client accepts). */
export type AnswererOutgoing = { type: "answer"; sdp: string } | CandidateSignal | ByeSignal;

/** Messages negotiation sends through the signaling port, either role. */
export type NegotiationOutgoing = OffererOutgoing | AnswererOutgoing;

/** Messages negotiation reacts to; anything else is ignored. */
export type NegotiationIncoming =
  | NegotiationOutgoing
  | { type: "joined" }
  | { type: "error"; code: string; message: string };

/**
 * Where signaling messages go and come from: a Room on the server, a
 * SignalingClient in the frontend, or anything with the same shape.
 */
export interface SignalingPort<Out extends NegotiationOutgoing = NegotiationOutgoing> {
  send(msg: Out): unknown;
  onMessage(callback: (msg: NegotiationIncoming) => void): void;
  /** Optional: lets negotiation fail fast when signaling ends before the descriptions were exchanged. */
  onClose?(callback: (detail: unknown) => void): void;
}

/** Milestones reported through `onProgress`, in the order they normally occur. */
export type NegotiationStage =
  | "offer-sent"
  | "offer-received"
  | "answer-sent"
  | "answer-received"
  | "ice-checking"
  | "ice-connected"
  | "peer-connected"
  | "channel-open";

/** Options for both roles. */
export interface NegotiationOptions<DC extends DataChannelLike = DataChannelLike> {
  /** Give up after this long. Default 15,000 ms. */
  timeoutMs?: number;
  /** Abort the negotiation (rejects with code "aborted"). */
  signal?: AbortSignal;
  /** Called at each milestone with the time since the negotiation started, for diagnostics and benchmarks. */
  onProgress?: (stage: NegotiationStage, elapsedMs: number) => void;
  /**
   * Answerer only: the DTLS role to take, as the `a=setup` of the answer: what the
   * offering stack handles best, which the server announces as the bootstrap's
   * `answerSetup` (see withAnswerSetup). Default "passive" (the answerer is the DTLS
   * server), right for a werift offerer. Only an `actpass` offer leaves the choice to the
   * answerer; a stack that writes its own answer (node-datachannel) keeps its choice.
   */
  answererDtlsRole?: "active" | "passive";
  /** Answerer only: how long to keep the offerer's candidates back (see DEFAULT_CANDIDATE_HOLD_MS). */
  candidateHoldMs?: number;
  /**
   * Send the peer relay candidates only (`iceTransportPolicy: "relay"`). Some stacks (werift)
   * still gather host candidates under that policy; they never leave this side, so the peer
   * learns no address of this host but its relay's.
   */
  relayOnly?: boolean;
  /**
   * Called once, synchronously, as soon as the data channel object exists: on the offerer
   * when it is created, on the answerer when the offerer's announcement arrives, in both
   * cases before it opens. Wrap it into its ChannelPort here: a peer may send before our
   * side sees `open` (Firefox sends before its DCEP ACK), and the port holds those messages.
   */
  onChannel?: (channel: DC) => void;
}

/** Why a negotiation failed. */
export type NegotiationFailure =
  | "timeout"
  | "ice-failed"
  | "connection-failed"
  | "remote-bye"
  | "remote-error"
  | "signaling-closed"
  | "aborted"
  | "error";

/** A failed negotiation; the message names the likely cause. */
export class NegotiationError extends BonitoError<NegotiationFailure> {}

/**
 * Server side: create the data channel and the offer, send it, apply the
 * answer, trickle ICE both ways, and resolve with the channel once it is
 * open. The timeout runs from this call, so it includes the frontend joining
 * (a Room queues the offer until then). On rejection the remote side gets a
 * `bye`, the channel is closed, and the caller should close `pc`.
 */
export function negotiateAsOfferer<DC extends DataChannelLike>(
  pc: PeerConnectionLike<DC>,
  port: SignalingPort<OffererOutgoing>,
  options: NegotiationOptions<DC> = {},
): Promise<DC> {
  return new Negotiation(pc, port, "offerer", options).run();
}

/**
 * Frontend side: wait for the offer, answer it, trickle ICE both ways, and
 * resolve with the channel announced by the offerer once it is open. Attach
 * message handlers as soon as it resolves (the same tick): the server may
 * send at once. On rejection the caller should close `pc`.
 */
export function negotiateAsAnswerer<DC extends DataChannelLike>(
  pc: PeerConnectionLike<DC>,
  port: SignalingPort<AnswererOutgoing>,
  options: NegotiationOptions<DC> = {},
): Promise<DC> {
  return new Negotiation(pc, port, "answerer", options).run();
}

type Role = "offerer" | "answerer";

/** One negotiation run: holds the progress needed to explain a failure. */
class Negotiation<DC extends DataChannelLike> {
  private readonly startedAt = Date.now();
  private settled = false;
  private resolveRun!: (channel: DC) => void;
  private rejectRun!: (error: NegotiationError) => void;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly cleanups: Array<() => void> = [];
  private channel: DC | null = null;

  // Local description and candidates: candidates wait until the description is sent.
  private descriptionSent = false;
  private readonly pendingLocal: Array<CandidateInit | null> = [];
  private endOfCandidatesSent = false;
  private localCandidates = 0;

  // Remote description and candidates: candidates wait until the description is applied.
  private remoteDescriptionSeen = false;
  private remoteApplied = false;
  private readonly pendingRemote: Array<CandidateInit | null> = [];
  private remoteCandidates = 0;
  private rejectedCandidates = 0;
  private candidateChain: Promise<void> = Promise.resolve();

  // Connection progress, for the failure message.
  private iceChecking = false;
  private iceConnected = false;
  private peerConnected = false;

  constructor(
    private readonly pc: PeerConnectionLike<DC>,
    private readonly port: SignalingPort,
    private readonly role: Role,
    private readonly options: NegotiationOptions<DC>,
  ) {}

  run(): Promise<DC> {
    const result = new Promise<DC>((resolve, reject) => {
      this.resolveRun = resolve;
      this.rejectRun = reject;
    });
    const signal = this.options.signal;
    if (signal?.aborted) {
      this.fail("aborted", "negotiation aborted before it started", false);
      return result;
    }
    this.listen();
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_NEGOTIATION_TIMEOUT_MS;
    this.timer = setTimeout(() => this.fail("timeout", this.diagnose(timeoutMs)), timeoutMs);
    if (this.role === "offerer") {
      this.offer().catch((error) => this.fail("error", `could not create or send the offer: ${describe(error)}`));
    }
    return result;
  }

  /** Subscribe to the peer connection, the signaling port and the abort signal. */
  private listen(): void {
    const pc = this.pc;
    const onCandidate = (event: { candidate?: IceCandidateLike | null }) =>
      this.guard(() => this.localCandidate(event.candidate));
    const onIceState = () => this.guard(() => this.iceStateChanged());
    const onPeerState = () => this.guard(() => this.peerStateChanged());
    pc.addEventListener("icecandidate", onCandidate);
    pc.addEventListener("iceconnectionstatechange", onIceState);
    pc.addEventListener("connectionstatechange", onPeerState);
    this.cleanups.push(() => {
      pc.removeEventListener("icecandidate", onCandidate);
      pc.removeEventListener("iceconnectionstatechange", onIceState);
      pc.removeEventListener("connectionstatechange", onPeerState);
    });
    if (this.role === "answerer") {
      const onChannel = (event: { channel: DC }) => this.guard(() => this.channelAnnounced(event.channel));
      pc.addEventListener("datachannel", onChannel);
      this.cleanups.push(() => pc.removeEventListener("datachannel", onChannel));
    }
    // The port has no unsubscribe: after settling, `settled` makes these no-ops.
    this.port.onMessage((msg) => this.guard(() => this.signal(msg)));
    this.port.onClose?.((detail) => this.guard(() => this.signalingClosed(detail)));
    const abortSignal = this.options.signal;
    if (abortSignal) {
      const onAbort = () => this.fail("aborted", "negotiation aborted");
      abortSignal.addEventListener("abort", onAbort);
      this.cleanups.push(() => abortSignal.removeEventListener("abort", onAbort));
    }
  }

  /** Offerer: channel first (so the offer has its m=application section), then the offer. */
  private async offer(): Promise<void> {
    this.watchChannel(this.pc.createDataChannel(CHANNEL_LABEL, { ordered: true }));
    const offer = await this.pc.createOffer();
    if (this.settled) return;
    const sdp = requireSdp(offer, "offer");
    await this.pc.setLocalDescription({ type: "offer", sdp });
    if (this.settled) return;
    this.sendDescription({ type: "offer", sdp }, "offer-sent");
  }

  /** Answerer: apply the offer, answer it, send the answer. */
  private async answer(offerSdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: "offer", sdp: offerSdp });
    if (this.settled) return;
    this.remoteApplied = true;
    // Candidates are added one after another: delaying the chain delays them all.
    const holdMs = this.options.candidateHoldMs ?? DEFAULT_CANDIDATE_HOLD_MS;
    if (holdMs > 0) this.candidateChain = this.candidateChain.then(() => this.pause(holdMs));
    this.flushRemoteCandidates();
    const answer = await this.pc.createAnswer();
    if (this.settled) return;
    const created = requireSdp(answer, "answer");
    // Only an `actpass` offer leaves the role to us.
    const role = setupRole(offerSdp) === "actpass" ? (this.options.answererDtlsRole ?? "passive") : undefined;
    const answerSdp = role ? withAnswerSetup(created, role) : created;
    await this.pc.setLocalDescription({ type: "answer", sdp: answerSdp });
    if (this.settled) return;
    // Some stacks ignore the SDP given to setLocalDescription (node-datachannel's
    // polyfill does): then send the description they really use, or the peers
    // would disagree on who is the DTLS server.
    const applied = this.pc.localDescription?.sdp;
    const sdp = applied && setupRole(applied) !== setupRole(answerSdp) ? applied : answerSdp;
    this.sendDescription({ type: "answer", sdp }, "answer-sent");
  }

  /** Offerer: apply the answer. */
  private async applyAnswer(sdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: "answer", sdp });
    if (this.settled) return;
    this.remoteApplied = true;
    this.flushRemoteCandidates();
  }

  /** Send our description, then the candidates gathered meanwhile. */
  private sendDescription(msg: NegotiationOutgoing, stage: NegotiationStage): void {
    if (this.options.relayOnly && "sdp" in msg) msg = { ...msg, sdp: withoutNonRelayCandidates(msg.sdp) };
    this.port.send(msg);
    this.descriptionSent = true;
    this.progress(stage);
    for (const candidate of this.pendingLocal.splice(0)) this.port.send({ type: "candidate", candidate });
  }

  private signal(msg: NegotiationIncoming): void {
    if (this.settled) return;
    switch (msg.type) {
      case "offer":
        if (this.role !== "answerer" || this.remoteDescriptionSeen) return; // no renegotiation
        this.remoteDescriptionSeen = true;
        this.progress("offer-received");
        this.answer(msg.sdp).catch((error) => this.fail("error", `could not apply the offer or answer it: ${describe(error)}`));
        return;
      case "answer":
        if (this.role !== "offerer" || this.remoteDescriptionSeen) return;
        this.remoteDescriptionSeen = true;
        this.progress("answer-received");
        this.applyAnswer(msg.sdp).catch((error) => this.fail("error", `could not apply the answer: ${describe(error)}`));
        return;
      case "candidate":
        if (msg.candidate) this.remoteCandidates++;
        if (this.remoteApplied) this.addRemoteCandidate(msg.candidate);
        else this.pendingRemote.push(msg.candidate);
        return;
      case "bye":
        this.fail("remote-bye", `the remote peer ended the negotiation${msg.reason ? `: ${msg.reason}` : ""}`, false);
        return;
      case "error":
        this.fail("remote-error", `signaling failed: ${msg.message} (${msg.code})`, false);
        return;
      default:
        return; // "joined" and anything newer
    }
  }

  private signalingClosed(detail: unknown): void {
    if (this.settled) return;
    // Once descriptions are exchanged ICE can finish without signaling (the
    // server closes its room as soon as its channel opens); the timeout still guards.
    const exchanged = this.remoteDescriptionSeen && this.descriptionSent;
    if (exchanged) return;
    this.fail("signaling-closed", `signaling closed before the ${this.role === "offerer" ? "answer arrived" : "offer was answered"} (${describeClose(detail)})`, false);
  }

  /** A local ICE candidate (or the end of them): send it, or hold it until our description is out. */
  private localCandidate(candidate: IceCandidateLike | null | undefined): void {
    if (this.settled) return;
    let init: CandidateInit | null = null;
    // werift signals the end with `undefined`, browsers with `null`; an empty string is a per-section end.
    if (candidate && candidate.candidate) {
      if (this.options.relayOnly && !isRelayCandidate(candidate.candidate)) return;
      this.localCandidates++;
      init = {
        // node-datachannel gives the SDP line ("a=candidate:..."); others expect the attribute ("candidate:...").
        candidate: candidate.candidate.replace(/^a=/, ""),
        sdpMid: candidate.sdpMid ?? null,
        // Both fields may be missing on some stacks; we have one m-section, index 0.
        sdpMLineIndex: candidate.sdpMLineIndex ?? (candidate.sdpMid == null ? 0 : null),
      };
      if (candidate.usernameFragment) init.usernameFragment = candidate.usernameFragment;
    } else {
      if (this.endOfCandidatesSent) return;
      this.endOfCandidatesSent = true;
    }
    if (this.descriptionSent) this.port.send({ type: "candidate", candidate: init });
    else this.pendingLocal.push(init);
  }

  private flushRemoteCandidates(): void {
    for (const candidate of this.pendingRemote.splice(0)) this.addRemoteCandidate(candidate);
  }

  /** Add remote candidates one after another; a bad one is counted, not fatal. */
  private addRemoteCandidate(candidate: CandidateInit | null): void {
    this.candidateChain = this.candidateChain
      .then(() => (this.settled ? undefined : this.pc.addIceCandidate(candidate)))
      .catch(() => {
        if (candidate) this.rejectedCandidates++;
      });
  }

  private iceStateChanged(): void {
    const state = this.pc.iceConnectionState;
    if (state === "checking" && !this.iceChecking) {
      this.iceChecking = true;
      this.progress("ice-checking");
    }
    // werift says "completed" before checks start (when gathering ends): only after "checking" does it mean connected.
    if ((state === "connected" || (state === "completed" && this.iceChecking)) && !this.iceConnected) {
      this.iceConnected = true;
      this.progress("ice-connected");
    }
    if (state === "failed") this.fail("ice-failed", this.diagnose());
  }

  private peerStateChanged(): void {
    const state = this.pc.connectionState;
    if (state === "connected" && !this.peerConnected) {
      // ICE and DTLS are both up.
      this.iceConnected = true;
      this.peerConnected = true;
      this.progress("peer-connected");
    }
    if (state === "failed") this.fail(this.iceConnected ? "connection-failed" : "ice-failed", this.diagnose());
  }

  /** Answerer: the offerer's channel arrived. */
  private channelAnnounced(channel: DC): void {
    if (this.settled || this.channel || channel.label !== CHANNEL_LABEL) return;
    this.watchChannel(channel);
  }

  /** Resolve on the channel's `open`; fail if it closes first. */
  private watchChannel(channel: DC): void {
    this.channel = channel;
    this.options.onChannel?.(channel);
    const onOpen = () => this.guard(() => this.succeed());
    const onClose = () => this.guard(() => this.fail("error", "the data channel closed before it opened"));
    channel.addEventListener("open", onOpen);
    channel.addEventListener("close", onClose);
    this.cleanups.push(() => {
      channel.removeEventListener("open", onOpen);
      channel.removeEventListener("close", onClose);
    });
    // Browsers may hand out a channel that is already open.
    if (channel.readyState === "open") this.succeed();
  }

  private succeed(): void {
    if (this.settled || !this.channel) return;
    this.progress("channel-open");
    this.settle();
    this.resolveRun(this.channel);
  }

  /** Reject once; tell the remote peer unless it is the one that gave up. */
  private fail(code: NegotiationFailure, message: string, sayBye = true): void {
    if (this.settled) return;
    this.settle();
    if (sayBye) {
      try {
        this.port.send({ type: "bye", reason: message.slice(0, 512) });
      } catch {
        // Signaling may already be gone; the failure is reported below either way.
      }
    }
    try {
      this.channel?.close();
    } catch {
      // Closing a half-made channel can throw on some stacks; the caller closes the pc.
    }
    this.rejectRun(new NegotiationError(code, message));
  }

  private settle(): void {
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  /**
   * Explain, from the furthest stage reached, why the channel did not open:
   * after a timeout (`timeoutMs` given) or when ICE reported "failed".
   */
  private diagnose(timeoutMs?: number): string {
    const timedOut = timeoutMs !== undefined;
    const head = timedOut
      ? `no data channel within ${timeoutMs} ms: `
      : this.iceConnected
        ? "the peer connection failed: "
        : "ICE failed: ";
    if (timedOut && this.role === "offerer" && !this.remoteDescriptionSeen) {
      return `${head}no answer from the frontend; it did not join the signaling room, or did not answer the offer`;
    }
    if (timedOut && this.role === "answerer" && !this.remoteDescriptionSeen) {
      return `${head}no offer from the server; the signaling room sent nothing after joining`;
    }
    if (timedOut && (!this.descriptionSent || !this.remoteApplied)) {
      return `${head}the session descriptions were not exchanged; applying or answering them stalled`;
    }
    if (this.localCandidates === 0) {
      return `${head}no local ICE candidates were gathered; this host has no usable network interface (on loopback, werift needs iceAdditionalHostAddresses: ['127.0.0.1'])`;
    }
    if (this.remoteCandidates === 0) {
      return `${head}the remote peer sent no ICE candidates; it has no usable network interface, or its candidates were lost (Chromium gathers none in a namespace with only loopback)`;
    }
    if (!this.iceConnected) {
      const rejected = this.rejectedCandidates ? `, ${this.rejectedCandidates} remote rejected` : "";
      const checks = this.iceChecking ? "checks found no working pair" : "checks never started";
      return `${head}no route between the peers (${this.localCandidates} local / ${this.remoteCandidates} remote candidates${rejected}; ${checks}): UDP is blocked or the peers are on different networks; configure a STUN/TURN server in iceServers`;
    }
    if (!this.peerConnected) {
      return `${head}ICE connected but the DTLS handshake did not complete; DTLS packets are blocked or the certificate fingerprints do not match`;
    }
    return `${head}the peer connection is up but the data channel did not open; the SCTP association or the channel announcement failed`;
  }

  /** Resolves after `ms`, or as soon as the negotiation has settled. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.cleanups.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private progress(stage: NegotiationStage): void {
    const report = this.options.onProgress;
    if (!report) return;
    try {
      report(stage, Date.now() - this.startedAt);
    } catch {
      // Diagnostics must not break the negotiation.
    }
  }

  /** Event handlers never throw: an unexpected exception fails the negotiation instead. */
  private guard(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.fail("error", `negotiation failed: ${describe(error)}`);
    }
  }
}

function requireSdp(description: DescriptionLike, what: string): string {
  if (!description.sdp) throw new Error(`the ${what} has no SDP`);
  return description.sdp;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeClose(detail: unknown): string {
  if (typeof detail === "string") return detail;
  if (detail && typeof detail === "object" && "code" in detail) {
    const { code, reason } = detail as { code: unknown; reason?: unknown };
    return `code ${String(code)}${reason ? `, ${String(reason)}` : ""}`;
  }
  return "no details";
}
