/**
 * How much each scenario does in a full run and in `--quick` (the same scenarios, shorter,
 * so that the whole quick run stays under two minutes on a 2-core machine), and the time
 * cap of each measurement: a run that reaches its cap is reported as `timeout` with what it
 * reached, never waited on further.
 */
import { MiB } from "./lib/stats.js";

export interface BenchConfig {
  quick: boolean;
  /** Repetitions of each throughput measurement (the median is reported). */
  repeats: number;
  /** Updates per throughput measurement, by scenario. */
  counts: { "throughput-1MiB": number; "throughput-16KiB": number; "updates-per-second": number };
  /** Cap of one transfer, ms. */
  transferCapMs: number;
  rtt: { count: number; warmup: number; capMs: number };
  setup: { repeats: number; warmup: number };
  /** Bytes moved while RSS is watched. */
  peakRssBytes: number;
  peakRssCapMs: number;
  /**
   * 50 sessions. Frontends connect one at a time per process (two processes): with three at
   * a time per process, werift's DTLS handshakes failed in 4 of 5 runs here (ours and bare alike).
   */
  sessions: { count: number; perSessionBytes: number; connectConcurrency: number; connectCapMs: number; transferCapMs: number };
}

export function benchConfig(quick: boolean): BenchConfig {
  return quick
    ? {
        quick,
        repeats: 1,
        counts: { "throughput-1MiB": 4, "throughput-16KiB": 128, "updates-per-second": 1000 },
        transferCapMs: 10_000,
        rtt: { count: 100, warmup: 20, capMs: 10_000 },
        setup: { repeats: 2, warmup: 1 },
        peakRssBytes: 8 * MiB,
        peakRssCapMs: 15_000,
        sessions: { count: 50, perSessionBytes: 256 * 1024, connectConcurrency: 1, connectCapMs: 60_000, transferCapMs: 20_000 },
      }
    : {
        quick,
        repeats: 3,
        counts: { "throughput-1MiB": 64, "throughput-16KiB": 2048, "updates-per-second": 10_000 },
        transferCapMs: 60_000,
        rtt: { count: 2000, warmup: 100, capMs: 60_000 },
        setup: { repeats: 10, warmup: 2 },
        peakRssBytes: 256 * MiB,
        peakRssCapMs: 300_000,
        sessions: { count: 50, perSessionBytes: 2 * MiB, connectConcurrency: 1, connectCapMs: 120_000, transferCapMs: 90_000 },
      };
}
