/**
 * setup: from the page request (Chromium: navigation start, as the page's own clock has
 * it) or the `connectFrontend` call (Node) to the connection being open, i.e. the runtime's
 * `on_connection_open` (ours) or the data channel's `open` (bare). The bare baseline uses
 * the same signaling server and client and the same negotiation code, and also fetches
 * its bootstrap (or page) first. Median of several connects after warm-up connects; each
 * connect is a new session (new page, or new Node frontend in a long-lived process).
 */
import { startAgent, type Agent } from "../lib/agents.js";
import { median } from "../lib/stats.js";
import { isBareServer, variantLabel, type TransportSpec } from "../shared/variants.js";
import type { ScenarioContext, StandaloneFamily } from "./scenario.js";

const TOPOLOGIES = ["node↔chromium", "node↔node"] as const;
type Topology = (typeof TOPOLOGIES)[number];

async function measure(context: ScenarioContext, spec: TransportSpec, topology: Topology, url: string, client: () => Promise<Agent>): Promise<number[]> {
  const { repeats, warmup } = context.config.setup;
  const samples: number[] = [];
  for (let i = 0; i < warmup + repeats; i++) {
    let ms: number | undefined;
    if (topology === "node↔chromium") {
      const browser = await context.env.browser();
      const page = isBareServer(spec) ? await browser.openBare(url) : await browser.openBonito(url);
      ms = await page.openedAfterMs();
      await page.close();
    } else {
      ms = (await (await client()).call<{ ms: number }>("connectTimed", { url, spec }, 30_000)).ms;
    }
    if (ms === undefined) throw new Error("no open time was reported");
    if (i >= warmup) samples.push(ms);
  }
  return samples;
}

export const setup: StandaloneFamily = {
  kind: "standalone",
  names: ["setup"],
  async run(context: ScenarioContext) {
    // One Node frontend process for every variant (each connect is a fresh frontend in it).
    let clientAgent: Promise<Agent> | undefined;
    const client = () => (clientAgent ??= startAgent("client-setup", context.env.agentOptions()));
    try {
      for (const spec of context.variants) {
        const variant = variantLabel(spec);
        const server = await startAgent(`server-${variant}`, context.env.agentOptions());
        try {
          const { url } = await server.call<{ url: string }>("serve", { spec }, 20_000);
          for (const topology of TOPOLOGIES) {
            try {
              const samples = await measure(context, spec, topology, url, client);
              const value = median(samples);
              context.log(`setup ${topology} ${variant}: median ${value.toFixed(1)} ms (${samples.map((s) => s.toFixed(0)).join(", ")})`);
              context.record({ scenario: "setup", direction: topology, variant, value, unit: "ms", better: "lower", status: "ok", samples });
            } catch (error) {
              const note = (error as Error).message.split("\n")[0];
              context.log(`setup ${topology} ${variant}: ${note}`);
              context.record({ scenario: "setup", direction: topology, variant, value: null, unit: "ms", better: "lower", status: "error", note });
            }
          }
        } finally {
          await server.close();
        }
      }
    } finally {
      await (await clientAgent?.catch(() => undefined))?.close();
    }
  },
};
