/**
 * The peers a measurement runs on. A `Rig` is one variant's server peer (an agent
 * process) with, on demand, one Chromium page and one Node frontend (a second agent)
 * connected to it; a `Pair` is a rig seen in one direction. All three directions of a
 * variant share the rig, so a run starts three processes per variant, not six. Both ends
 * are reached through `Side`, so scenarios do not care where a peer runs.
 */
import { startAgent, type Agent, type AgentOptions } from "./agents.js";
import type { BenchBrowser, BenchPage } from "./browser.js";
import type { DriverOp } from "../shared/driver.js";
import { isBareServer, isOurs, variantLabel, type TransportSpec } from "../shared/variants.js";

export type Direction = "node→chromium" | "chromium→node" | "node→node";

export const DIRECTIONS: readonly Direction[] = ["node→chromium", "chromium→node", "node→node"];

/** One end of a pair, wherever it runs. */
export interface Side {
  readonly where: "node" | "chromium";
  op<T = any>(name: DriverOp, args?: unknown, timeoutMs?: number): Promise<T>;
}

/** What scenarios share: the browser (launched on first use) and how to start agents. */
export interface BenchEnv {
  browser(): Promise<BenchBrowser>;
  agentOptions(): AgentOptions;
}

export interface Pair {
  readonly spec: TransportSpec;
  readonly direction: Direction;
  readonly server: Side;
  readonly client: Side;
  readonly sender: Side;
  readonly receiver: Side;
  /** The sender is a Bonito frontend, whose `set()` does not wait for the transport: use credit. */
  readonly credit: boolean;
  readonly serverAgent: Agent;
  /** The Node frontend's process (node→node only). */
  readonly clientAgent?: Agent;
  readonly page?: BenchPage;
}

export function agentSide(agent: Agent, role: "server" | "client", index = -1): Side {
  return {
    where: "node",
    op: (name, args, timeoutMs) => agent.call("ep", { role, index, op: name, args }, timeoutMs),
  };
}

export function pageSide(page: BenchPage): Side {
  return { where: "chromium", op: (name, args, timeoutMs) => page.op(name, args, timeoutMs) };
}

/** One variant's server peer and the frontends connected to it. */
export class Rig {
  private page: { page: BenchPage; serverIndex: number } | undefined;
  private node: { agent: Agent; serverIndex: number } | undefined;
  private serverPeers = 0;

  private constructor(
    private readonly env: BenchEnv,
    readonly spec: TransportSpec,
    readonly serverAgent: Agent,
    readonly url: string,
  ) {}

  /** Start the server peer. */
  static async start(env: BenchEnv, spec: TransportSpec): Promise<Rig> {
    const agent = await startAgent(`server-${variantLabel(spec)}`, env.agentOptions());
    try {
      const { url } = await agent.call<{ url: string }>("serve", { spec }, 20_000);
      return new Rig(env, spec, agent, url);
    } catch (error) {
      await agent.kill();
      throw error;
    }
  }

  /** The pair for `direction`, connecting the frontend it needs on first use. */
  async pair(direction: Direction): Promise<Pair> {
    const server = (index: number) => agentSide(this.serverAgent, "server", index);
    let client: Side;
    let serverSide: Side;
    let page: BenchPage | undefined;
    let clientAgent: Agent | undefined;
    if (direction === "node→node") {
      this.node ??= await this.connect(async () => {
        const agent = await startAgent(`client-${variantLabel(this.spec)}`, this.env.agentOptions());
        try {
          await agent.call("connect", { url: this.url, spec: this.spec }, 30_000);
        } catch (error) {
          await agent.kill();
          throw error;
        }
        return { agent };
      });
      clientAgent = this.node.agent;
      client = agentSide(clientAgent, "client");
      serverSide = server(this.node.serverIndex);
    } else {
      this.page ??= await this.connect(async () => {
        const browser = await this.env.browser();
        const label = variantLabel(this.spec);
        return { page: isBareServer(this.spec) ? await browser.openBare(this.url, 30_000, label) : await browser.openBonito(this.url, 30_000, label) };
      });
      page = this.page.page;
      client = pageSide(page);
      serverSide = server(this.page.serverIndex);
    }
    const sender = direction === "chromium→node" ? client : serverSide;
    return {
      spec: this.spec,
      direction,
      server: serverSide,
      client,
      sender,
      receiver: sender === serverSide ? client : serverSide,
      credit: isOurs(this.spec) && sender === client,
      serverAgent: this.serverAgent,
      clientAgent,
      page,
    };
  }

  /** Connect one frontend and find its session on the server (the next one to become ready). */
  private async connect<T extends object>(open: () => Promise<T>): Promise<T & { serverIndex: number }> {
    const serverIndex = this.serverPeers;
    const frontend = await open();
    try {
      await this.serverAgent.call("waitPeers", { count: serverIndex + 1 }, 30_000);
    } catch (error) {
      await (frontend as { page?: BenchPage }).page?.close();
      await (frontend as { agent?: Agent }).agent?.kill();
      throw error;
    }
    this.serverPeers++;
    return { ...frontend, serverIndex };
  }

  /** Orderly close (frontends first), each step bounded. */
  async close(): Promise<void> {
    await this.page?.page.close();
    await this.node?.agent.close();
    await this.serverAgent.close();
  }

  /** Tear down at once: after a run hit its cap, a peer may be wedged. */
  async abort(): Promise<void> {
    await Promise.all([this.page?.page.close(), this.node?.agent.kill(), this.serverAgent.kill()]);
  }
}

/** A rig used for one direction only (fresh processes for one measurement). */
export async function openPair(env: BenchEnv, spec: TransportSpec, direction: Direction): Promise<{ pair: Pair; rig: Rig }> {
  const rig = await Rig.start(env, spec);
  try {
    return { pair: await rig.pair(direction), rig };
  } catch (error) {
    await rig.abort();
    throw error;
  }
}
