/** What every scenario family gets, and the shapes of one. */
import type { BenchConfig } from "../config.js";
import type { BenchEnv, Pair } from "../lib/pairs.js";
import type { Measurement } from "../lib/table.js";
import type { TransportSpec } from "../shared/variants.js";

export interface ScenarioContext {
  env: BenchEnv;
  config: BenchConfig;
  /** Every variant of this run: ours over WebRTC per backend, WebSocket, bare per backend. */
  variants: readonly TransportSpec[];
  /** Whether scenario `name` was selected (`--only`). */
  selected(name: string): boolean;
  record(measurement: Measurement): void;
  log(message: string): void;
}

/** A family that sets up its own peers (setup, memory, sessions). */
export interface StandaloneFamily {
  readonly kind: "standalone";
  /** Scenario names this family produces (matched against `--only`). */
  readonly names: readonly string[];
  run(context: ScenarioContext): Promise<void>;
}

/**
 * A family that measures on a connected pair shared with other such families (rtt,
 * throughput), one pair per variant and direction. Returns false when the pair is no
 * longer usable (a run hit its cap): it is then torn down and later families record errors.
 */
export interface PairFamily {
  readonly kind: "pair";
  readonly names: readonly string[];
  onPair(pair: Pair, context: ScenarioContext): Promise<boolean>;
  /** Record that this family could not run on (direction, variant), e.g. the pair did not connect. */
  skipped(direction: string, variant: string, context: ScenarioContext, note: string): void;
}

export type ScenarioFamily = StandaloneFamily | PairFamily;
