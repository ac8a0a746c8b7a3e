/**
 * peak-rss: the resident set of the sending and of the receiving process during one large
 * transfer (1 MiB updates), for every variant and direction. Node peers sample their own
 * RSS every 10 ms (on fresh processes ru_maxrss also catches what falls between samples);
 * for Chromium the renderer that runs the page is sampled from /proc (the data channel's
 * SCTP stack lives there; Chromium's network service process is not counted).
 *
 * Full runs use fresh peers for each measurement (`memory`); quick runs measure at the end
 * of the shared pair (`memoryOnPair`), whose processes have already run the other scenarios.
 */
import { DIRECTIONS, openPair, type Pair, type Rig } from "../lib/pairs.js";
import { RendererRssWatch } from "../lib/browser.js";
import { pairTransfer } from "../lib/transfer.js";
import { MiB } from "../lib/stats.js";
import { variantLabel } from "../shared/variants.js";
import type { PairFamily, ScenarioContext, StandaloneFamily } from "./scenario.js";

interface Peak {
  before: number;
  peak: number;
  how: string;
}

/** Start watching one side's process; the returned function stops and returns its peak. */
async function watch(context: ScenarioContext, pair: Pair, side: "server" | "client", fresh: boolean): Promise<() => Promise<Peak | null>> {
  const agent = side === "server" ? pair.serverAgent : pair.clientAgent;
  if (agent) {
    await agent.call("rssStart");
    return async () => {
      const r = await agent.call<{ before: number; peak: number; maxRss: number }>("rssStop");
      return { before: r.before, peak: fresh ? Math.max(r.peak, r.maxRss) : r.peak, how: "process RSS" };
    };
  }
  const renderer = new RendererRssWatch(await context.env.browser());
  await renderer.start();
  return async () => {
    const r = await renderer.stop();
    return r && { before: r.before, peak: r.peak, how: "renderer RSS (/proc)" };
  };
}

function recorder(context: ScenarioContext, direction: string, variant: string) {
  return (role: "sender" | "receiver", peak: Peak | null, status: "ok" | "timeout" | "error", extra?: string) => {
    const note = [peak && `${peak.how} +${((peak.peak - peak.before) / MiB).toFixed(0)} MiB`, extra].filter(Boolean).join("; ");
    context.record({
      scenario: `peak-rss (${role})`,
      direction,
      variant,
      value: peak ? peak.peak / MiB : null,
      unit: "MiB",
      better: "lower",
      status,
      note: note || undefined,
    });
  };
}

/** Transfer `config.peakRssBytes` on `pair` while both ends are watched. Returns false if the pair hit its cap. */
async function measure(pair: Pair, context: ScenarioContext, fresh: boolean): Promise<boolean> {
  const bytes = context.config.peakRssBytes;
  const label = `${bytes / MiB} MiB`;
  const variant = variantLabel(pair.spec);
  const record = recorder(context, pair.direction, variant);
  const senderRole = pair.sender === pair.server ? "server" : "client";
  const stopSender = await watch(context, pair, senderRole, fresh);
  const stopReceiver = await watch(context, pair, senderRole === "server" ? "client" : "server", fresh);
  const result = await pairTransfer(pair, MiB, bytes / MiB, context.config.peakRssCapMs);
  const [sender, receiver] = await Promise.all([stopSender(), stopReceiver()]);
  const status = result.timedOut ? "timeout" : "ok";
  const rate = `${label} at ${(result.receivedBytes / MiB / (result.durationMs / 1000)).toFixed(1)} MiB/s`;
  const extra = result.timedOut ? `cap ${context.config.peakRssCapMs / 1000} s: ${Math.round((100 * result.receivedBytes) / bytes)}% of ${label}` : rate;
  const mib = (p: Peak | null) => ((p?.peak ?? NaN) / MiB).toFixed(0);
  context.log(`peak-rss ${pair.direction} ${variant}: sender ${mib(sender)} MiB, receiver ${mib(receiver)} MiB (${extra})`);
  record("sender", sender, status, extra);
  record("receiver", receiver, status);
  return !result.timedOut;
}

export const memory: StandaloneFamily = {
  kind: "standalone",
  names: ["peak-rss"],
  async run(context: ScenarioContext) {
    for (const direction of DIRECTIONS) {
      for (const spec of context.variants) {
        let rig: Rig | undefined;
        try {
          const opened = await openPair(context.env, spec, direction);
          rig = opened.rig;
          if (await measure(opened.pair, context, true)) await rig.close();
          else await rig.abort();
        } catch (error) {
          const note = (error as Error).message.split("\n")[0];
          context.log(`peak-rss ${direction} ${variantLabel(spec)}: ${note}`);
          const record = recorder(context, direction, variantLabel(spec));
          record("sender", null, "error", note);
          record("receiver", null, "error", note);
          await rig?.abort();
        }
      }
    }
  },
};

export const memoryOnPair: PairFamily = {
  kind: "pair",
  names: ["peak-rss"],
  skipped(direction, variant, context, note) {
    const record = recorder(context, direction, variant);
    record("sender", null, "error", note);
    record("receiver", null, "error", note);
  },
  async onPair(pair, context) {
    try {
      return await measure(pair, context, false);
    } catch (error) {
      this.skipped(pair.direction, variantLabel(pair.spec), context, (error as Error).message.split("\n")[0]!);
      return false;
    }
  },
};
