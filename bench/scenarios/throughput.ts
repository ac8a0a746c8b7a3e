/**
 * throughput-1MiB, throughput-16KiB, updates-per-second: a stream of Uint8Array updates
 * of one size, in each direction, for every variant. Ours sends observable updates
 * (awaiting `set()` where it gives backpressure), the bare floor sends the same bytes as
 * raw messages, WebSocket runs the same session code over WebSocketConnection.
 */
import { KiB, MiB, median } from "../lib/stats.js";
import type { Pair } from "../lib/pairs.js";
import { pairTransfer, type TransferResult } from "../lib/transfer.js";
import { variantLabel } from "../shared/variants.js";
import type { PairFamily, ScenarioContext } from "./scenario.js";

const SCENARIOS = [
  { name: "throughput-1MiB", size: MiB, unit: "MiB/s" },
  { name: "throughput-16KiB", size: 16 * KiB, unit: "MiB/s" },
  { name: "updates-per-second", size: 64, unit: "updates/s" },
] as const;

type Name = (typeof SCENARIOS)[number]["name"];

function rate(result: TransferResult, unit: string): number {
  const seconds = result.durationMs / 1000;
  return unit === "MiB/s" ? result.receivedBytes / MiB / seconds : result.receivedBytes / (result.bytes / result.count) / seconds;
}

/** A short transfer of the scenario's size first, so JIT warm-up and slow start are not measured. */
async function warmUp(pair: Pair, size: number, count: number): Promise<void> {
  const warmCount = Math.max(1, Math.min(count >> 3, Math.ceil((2 * MiB) / size)));
  await pairTransfer(pair, size, warmCount, 10_000);
}

export const throughput: PairFamily = {
  kind: "pair",
  names: SCENARIOS.map((s) => s.name),
  skipped(direction, variant, context, note) {
    for (const s of SCENARIOS) {
      if (context.selected(s.name)) context.record({ scenario: s.name, direction, variant, value: null, unit: s.unit, better: "higher", status: "error", note });
    }
  },
  async onPair(pair: Pair, context: ScenarioContext) {
    const { config } = context;
    const direction = pair.direction;
    const variant = variantLabel(pair.spec);
    const scenarios = SCENARIOS.filter((s) => context.selected(s.name));
    for (let i = 0; i < scenarios.length; i++) {
      const s = scenarios[i]!;
      const count = config.counts[s.name as Name];
      const values: number[] = [];
      let status: "ok" | "timeout" | "error" = "ok";
      let note: string | undefined;
      try {
        await warmUp(pair, s.size, count);
        for (let rep = 0; rep < config.repeats; rep++) {
          const result = await pairTransfer(pair, s.size, count, config.transferCapMs);
          values.push(rate(result, s.unit));
          if (result.timedOut) {
            status = "timeout";
            note = `cap ${config.transferCapMs / 1000} s: ${Math.round((100 * result.receivedBytes) / result.bytes)}% arrived`;
            break;
          }
        }
      } catch (error) {
        status = (error as Error).name === "TimeoutError" ? "timeout" : "error";
        note = (error as Error).message.split("\n")[0];
      }
      const value = values.length ? median(values) : null;
      context.log(`${s.name} ${direction} ${variant}: ${value?.toFixed(1) ?? "–"} ${s.unit}${status !== "ok" ? ` (${status}: ${note})` : ""}`);
      context.record({ scenario: s.name, direction, variant, value, unit: s.unit, better: "higher", status, note, samples: values });
      if (status !== "ok") {
        for (const rest of scenarios.slice(i + 1)) {
          context.record({ scenario: rest.name, direction, variant, value: null, unit: rest.unit, better: "higher", status: "error", note: `not run: ${s.name} hit its cap on this pair` });
        }
        return false;
      }
    }
    return true;
  },
};
