/**
 * Diagnosis only: records what werift's SCTP association does (T3 expiries, SACKs, retransmits,
 * DATA out of order, sends held back by the congestion window) in a ring buffer, so a stalled
 * run can show its last seconds. Reaches into werift 0.24.x's private state.
 */
interface SctpInternals {
  sentQueue: Array<{ tsn: number; acked?: boolean; retransmit?: boolean; sentCount: number; bookSize: number }>;
  outboundQueue: unknown[];
  flightSize: number;
  cwnd: number;
  rto: number;
  lastReceivedTsn: number;
  timer3Handle: unknown;
  timer3Expired: () => void;
  receiveSackChunk(chunk: { cumulativeTsn: number; gaps: Array<[number, number]>; duplicates: number[]; advertisedRwnd: number }): Promise<void>;
  receiveDataChunk(chunk: { tsn: number }): void;
  sendChunk(chunk: { tsn?: number; userData?: unknown; sentCount?: number }): Promise<void>;
  __traced?: boolean;
}

const events: Array<[number, string]> = [];
const MAX_EVENTS = 50_000;

function record(side: string, what: string): void {
  events.push([performance.now(), `${side} ${what}`]);
  if (events.length > 2 * MAX_EVENTS) events.splice(0, MAX_EVENTS);
}

/** Starts recording the association `sctp` (werift's SCTP instance) as `side`. */
export function traceSctp(side: string, sctp: unknown): void {
  const s = sctp as SctpInternals | undefined;
  if (!s || s.__traced || typeof s.receiveSackChunk !== "function") return;
  s.__traced = true;
  const state = () =>
    `sentQ=${s.sentQueue.length} acked=${s.sentQueue.filter((c) => c.acked).length} outQ=${s.outboundQueue.length} flight=${s.flightSize} cwnd=${s.cwnd} rto=${s.rto}`;
  const t3 = s.timer3Expired;
  s.timer3Expired = () => {
    record(side, `T3 expired ${state()}`);
    t3();
  };
  const sack = s.receiveSackChunk.bind(s);
  s.receiveSackChunk = async (chunk) => {
    const gaps = chunk.gaps.length ? ` gaps=${chunk.gaps.length}[${chunk.gaps[0]}..${chunk.gaps.at(-1)}]` : "";
    const before = state();
    await sack(chunk);
    record(side, `SACK cum=${chunk.cumulativeTsn}${gaps} dups=${chunk.duplicates.length} | before ${before} | after ${state()} t3=${s.timer3Handle !== undefined}`);
  };
  const send = s.sendChunk.bind(s);
  s.sendChunk = (chunk) => {
    if (chunk.userData !== undefined && (chunk.sentCount ?? 0) > 1) record(side, `RETX tsn=${chunk.tsn} count=${chunk.sentCount} ${state()}`);
    return send(chunk);
  };
  const data = s.receiveDataChunk.bind(s);
  s.receiveDataChunk = (chunk) => {
    const delta = (chunk.tsn - s.lastReceivedTsn) >>> 0;
    if (delta !== 1) record(side, `DATA tsn=${chunk.tsn} ${delta > 2 ** 31 ? `dup (${delta - 2 ** 32})` : `ahead by ${delta}`}`);
    data(chunk);
  };
}

/** Records the connection states of `pc` (a werift RTCPeerConnection) as `side`. */
export function traceConnection(side: string, pc: unknown): void {
  const peer = pc as { connectionStateChange?: { subscribe(f: (state: string) => void): unknown }; iceConnectionStateChange?: { subscribe(f: (state: string) => void): unknown } } | undefined;
  peer?.connectionStateChange?.subscribe((state) => record(side, `connection ${state}`));
  peer?.iceConnectionStateChange?.subscribe((state) => record(side, `ICE ${state}`));
}

/** The events of the last `ms` milliseconds, one per line, timed relative to now. */
export function recentSctpEvents(ms: number): string {
  const now = performance.now();
  return events
    .filter(([at]) => at > now - ms)
    .map(([at, what]) => `${((at - now) / 1000).toFixed(3)} ${what}`)
    .join("\n");
}

export function clearSctpEvents(): void {
  events.length = 0;
}
