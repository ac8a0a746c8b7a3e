/**
 * The measurements themselves, run next to an endpoint (in a Node agent or in the page):
 * a bulk sender, a receiver that counts bytes and stamps when everything arrived, a
 * sequential ping-pong and its echo. The orchestrator drives one EndpointDriver per side
 * by name (`op`), so the very same code measures Node and Chromium.
 */
import { decodeCount, encodeCount, type Endpoint } from "./endpoint.js";
import { epochNow, monoNow } from "./clock.js";
// Distinct bytes (not zeros, which a transport might treat specially), as the tests use.
import { patternBytes } from "../../test/helpers/payload.js";

export interface ArmArgs {
  /** Total bytes to expect on `data`. */
  bytes: number;
  /** Send an acknowledgement (bytes received so far) on `ack` every this many bytes; 0 for none. */
  ackEvery: number;
}

export interface ReceiveResult {
  bytes: number;
  messages: number;
  /** Epoch ms when the first and the last byte arrived (null if nothing did). */
  firstAt: number | null;
  endedAt: number | null;
  done: boolean;
}

export interface SendArgs {
  /** Bytes per update. */
  size: number;
  count: number;
  /** Transport flow: how many `send()` promises may be outstanding. */
  inflight: number;
  /** Credit flow: at most this many bytes sent and not yet acknowledged. */
  creditWindow: number;
}

export interface SendResult {
  startedAt: number;
  endedAt: number;
  sentBytes: number;
}

export interface PingArgs {
  count: number;
  size: number;
  warmup: number;
}

export interface PingResult {
  /** Round trips in ms, in order. */
  samples: number[];
}

/** Operations the orchestrator may invoke by name. */
export type DriverOp = "arm" | "wait" | "progress" | "send" | "echo" | "ping";

export class EndpointDriver {
  private receiving: { result: ReceiveResult; done: Promise<ReceiveResult>; off: () => void } | null = null;
  private echoOff: (() => void) | null = null;
  private pingSamples: number[] = [];

  constructor(readonly endpoint: Endpoint) {}

  /** Dispatch by name (what the agent's RPC and the page call). */
  op(name: DriverOp, args: any): Promise<unknown> | unknown {
    switch (name) {
      case "arm":
        return this.arm(args as ArmArgs);
      case "wait":
        return this.wait();
      case "progress":
        return this.progress();
      case "send":
        return this.send(args as SendArgs);
      case "echo":
        return this.echo(Boolean(args?.on));
      case "ping":
        return this.ping(args as PingArgs);
      default:
        throw new Error(`unknown driver op ${String(name)}`);
    }
  }

  /** Start counting `data`; `wait()` resolves once `bytes` arrived. Replaces an earlier arm. */
  arm(args: ArmArgs): { armed: true } {
    this.receiving?.off();
    const result: ReceiveResult = { bytes: 0, messages: 0, firstAt: null, endedAt: null, done: false };
    let resolve!: (r: ReceiveResult) => void;
    const done = new Promise<ReceiveResult>((r) => (resolve = r));
    let nextAck = args.ackEvery;
    const ep = this.endpoint;
    const off = ep.on("data", (data) => {
      if (result.done) return;
      result.bytes += data.byteLength;
      result.messages++;
      if (result.firstAt === null) result.firstAt = epochNow();
      if (args.ackEvery > 0 && result.bytes >= nextAck) {
        nextAck = result.bytes + args.ackEvery;
        ep.send("ack", encodeCount(result.bytes)).catch(() => {});
      }
      if (result.bytes >= args.bytes) {
        result.endedAt = epochNow();
        result.done = true;
        off();
        resolve({ ...result });
      }
    });
    if (args.bytes <= 0) {
      result.done = true;
      resolve({ ...result });
    }
    this.receiving = { result, done, off };
    return { armed: true };
  }

  wait(): Promise<ReceiveResult> {
    if (!this.receiving) return Promise.reject(new Error("wait before arm"));
    return this.receiving.done;
  }

  /** What arrived so far (for a run that hit its time cap). */
  progress(): ReceiveResult & { pings: number } {
    const r = this.receiving?.result ?? { bytes: 0, messages: 0, firstAt: null, endedAt: null, done: false };
    return { ...r, pings: this.pingSamples.length };
  }

  /** Send `count` updates of `size` bytes as fast as the flow control allows. */
  async send(args: SendArgs): Promise<SendResult> {
    const data = patternBytes(args.size, args.size + 1);
    const ep = this.endpoint;
    let failure: unknown = null;
    const fail = (error: unknown) => {
      failure ??= error;
    };
    const startedAt = epochNow();
    let sentBytes = 0;
    if (ep.flow === "credit") {
      let acked = 0;
      let wake: (() => void) | null = null;
      const off = ep.on("ack", (bytes) => {
        acked = Math.max(acked, decodeCount(bytes));
        const w = wake;
        wake = null;
        w?.();
      });
      try {
        for (let i = 0; i < args.count; i++) {
          while (sentBytes - acked > 0 && sentBytes - acked + args.size > args.creditWindow) {
            await new Promise<void>((resolve) => (wake = resolve));
          }
          if (failure) throw failure;
          ep.send("data", data).catch(fail);
          sentBytes += args.size;
        }
      } finally {
        off();
      }
    } else {
      const pending: Promise<void>[] = [];
      for (let i = 0; i < args.count; i++) {
        pending.push(ep.send("data", data));
        sentBytes += args.size;
        if (pending.length >= args.inflight) await pending.shift();
      }
      await Promise.all(pending);
    }
    if (failure) throw failure;
    return { startedAt, endedAt: epochNow(), sentBytes };
  }

  /** Answer every `ping` with the same bytes (on) or stop answering (off). */
  echo(on: boolean): { echo: boolean } {
    this.echoOff?.();
    this.echoOff = null;
    if (on) {
      const ep = this.endpoint;
      this.echoOff = ep.on("ping", (data) => void ep.send("ping", data).catch(() => {}));
    }
    return { echo: on };
  }

  /** Sequential round trips of `size` bytes; the other side must echo. */
  async ping(args: PingArgs): Promise<PingResult> {
    const data = patternBytes(args.size, 7);
    const ep = this.endpoint;
    let reply: (() => void) | null = null;
    const off = ep.on("ping", () => {
      const r = reply;
      reply = null;
      r?.();
    });
    this.pingSamples = [];
    try {
      for (let i = 0; i < args.warmup + args.count; i++) {
        const arrived = new Promise<void>((resolve) => (reply = resolve));
        const t0 = monoNow();
        ep.send("ping", data).catch(() => {});
        await arrived;
        if (i >= args.warmup) this.pingSamples.push(monoNow() - t0);
      }
    } finally {
      off();
    }
    return { samples: this.pingSamples };
  }
}
