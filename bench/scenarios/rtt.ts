/**
 * rtt-p50, rtt-p99: sequential ping-pong of a 64-byte Uint8Array. The initiator is the
 * direction's sender (Node server, Chromium page, Node server), the other side echoes.
 * Ours: an observable set, answered by setting another; bare: a raw message echoed.
 * Chromium's clock has 0.1 ms resolution, which bounds the page-initiated figures.
 */
import type { Pair } from "../lib/pairs.js";
import { percentile } from "../lib/stats.js";
import { variantLabel } from "../shared/variants.js";
import type { PingResult } from "../shared/driver.js";
import type { PairFamily, ScenarioContext } from "./scenario.js";

const SIZE = 64;
const NAMES = ["rtt-p50", "rtt-p99"] as const;

export const rtt: PairFamily = {
  kind: "pair",
  names: NAMES,
  skipped(direction, variant, context, note) {
    for (const name of NAMES) {
      if (context.selected(name)) context.record({ scenario: name, direction, variant, value: null, unit: "ms", better: "lower", status: "error", note });
    }
  },
  async onPair(pair: Pair, context: ScenarioContext) {
    const { count, warmup, capMs } = context.config.rtt;
    const direction = pair.direction;
    const variant = variantLabel(pair.spec);
    const record = (name: (typeof NAMES)[number], value: number | null, status: "ok" | "timeout" | "error", note?: string, samples?: number[]) => {
      if (context.selected(name)) context.record({ scenario: name, direction, variant, value, unit: "ms", better: "lower", status, note, samples });
    };
    try {
      await pair.receiver.op("echo", { on: true });
      const { samples } = await pair.sender.op<PingResult>("ping", { count, size: SIZE, warmup }, capMs);
      await pair.receiver.op("echo", { on: false });
      const p50 = percentile(samples, 50);
      const p99 = percentile(samples, 99);
      context.log(`rtt ${direction} ${variant}: p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms`);
      record("rtt-p50", p50, "ok", undefined, samples);
      record("rtt-p99", p99, "ok");
      return true;
    } catch (error) {
      const timedOut = (error as Error).name === "TimeoutError";
      let note = (error as Error).message.split("\n")[0]!;
      if (timedOut) {
        const progress = await pair.sender.op<{ pings: number }>("progress", {}, 3000).catch(() => null);
        note = `cap ${capMs / 1000} s: ${progress?.pings ?? "?"} of ${count} round trips`;
      }
      context.log(`rtt ${direction} ${variant}: ${note}`);
      record("rtt-p50", null, timedOut ? "timeout" : "error", note);
      record("rtt-p99", null, timedOut ? "timeout" : "error", note);
      return false;
    }
  },
};
