/**
 * sessions-50: one server, 50 Node frontends in two child processes (25 each) connected
 * at once. Reports the time to connect them all, the server's RSS per session (RSS after
 * all connected minus before any, after a GC, divided by the count) and the aggregate
 * throughput when the server streams to every session concurrently (1 MiB updates).
 */
import { startAgent, type Agent } from "../lib/agents.js";
import { flowFor } from "../lib/transfer.js";
import { MiB } from "../lib/stats.js";
import { epochNow } from "../shared/clock.js";
import { variantLabel } from "../shared/variants.js";
import type { ReceiveResult, SendResult } from "../shared/driver.js";
import type { ScenarioContext, StandaloneFamily } from "./scenario.js";

const CLIENT_PROCESSES = 2;
const UPDATE = MiB;

export const sessions: StandaloneFamily = {
  kind: "standalone",
  names: ["sessions-50"],
  async run(context: ScenarioContext) {
    if (!context.selected("sessions-50")) return;
    const { count, perSessionBytes, connectConcurrency, connectCapMs, transferCapMs } = context.config.sessions;
    const direction = `node→node ×${count}`;
    // The frontend processes serve every variant in turn (closing their frontends between).
    let clients: Agent[] = [];
    const startClients = () =>
      Promise.all(Array.from({ length: CLIENT_PROCESSES }, (_, i) => startAgent(`client${i}-sessions`, context.env.agentOptions())));
    for (const spec of context.variants) {
      const variant = variantLabel(spec);
      const record = (what: string, value: number | null, unit: string, better: "higher" | "lower", status: "ok" | "timeout" | "error", note?: string) =>
        context.record({ scenario: `sessions-50 ${what}`, direction, variant, value, unit, better, status, note });
      let server: Agent | undefined;
      let aborted = false;
      try {
        server = await startAgent(`server-${variant}`, context.env.agentOptions());
        if (clients.length === 0) clients = await startClients();
        const { url } = await server.call<{ url: string }>("serve", { spec }, 20_000);
        const before = await server.call<{ rss: number }>("rss");
        const live = server;
        const perProcess = Math.ceil(count / CLIENT_PROCESSES);
        const t0 = epochNow();
        await Promise.all(
          clients.map((client, i) =>
            client.call("connect", { url, spec, count: Math.min(perProcess, count - i * perProcess), concurrency: connectConcurrency }, connectCapMs),
          ),
        );
        await server.call("waitPeers", { count }, 20_000);
        const connectSeconds = (epochNow() - t0) / 1000;
        const after = await server.call<{ rss: number }>("rss");
        const perSession = (after.rss - before.rss) / count / MiB;
        record("connect-all", connectSeconds, "s", "lower", "ok", `concurrency ${connectConcurrency} per process`);
        record("server-rss/session", perSession, "MiB", "lower", "ok", `server RSS ${(before.rss / MiB).toFixed(0)} → ${(after.rss / MiB).toFixed(0)} MiB`);

        // Stream to every session at once.
        const updates = Math.max(1, Math.round(perSessionBytes / UPDATE));
        const size = Math.min(UPDATE, perSessionBytes);
        const flow = flowFor(size, false);
        await Promise.all(clients.map((c) => c.call("ep", { role: "client", index: "all", op: "arm", args: { bytes: size * updates, ackEvery: 0 } })));
        const tSend = epochNow();
        const sending = live.call<SendResult[]>(
          "ep",
          { role: "server", index: "all", op: "send", args: { size, count: updates, inflight: flow.inflight, creditWindow: flow.creditWindow } },
          transferCapMs + 2000,
        );
        sending.catch(() => {});
        const total = size * updates * count;
        try {
          const waits = clients.map((c) => c.call<ReceiveResult[]>("ep", { role: "client", index: "all", op: "wait" }, transferCapMs));
          const [sent, ...received] = await Promise.all([sending, ...waits]);
          const start = Math.min(...sent.map((s) => s.startedAt));
          const end = Math.max(...received.flat().map((r) => r.endedAt!));
          const rate = total / MiB / ((end - start) / 1000);
          context.log(`sessions-50 ${variant}: connect ${connectSeconds.toFixed(1)} s, ${perSession.toFixed(2)} MiB/session, ${rate.toFixed(1)} MiB/s aggregate`);
          record("throughput", rate, "MiB/s", "higher", "ok", `${(total / MiB).toFixed(0)} MiB in ${count} streams`);
        } catch (error) {
          // A cap, or a session that ended mid-stream: report what arrived until then.
          const timedOut = (error as Error).name === "TimeoutError";
          const elapsed = (epochNow() - tSend) / 1000;
          const progress = await Promise.all(clients.map((c) => c.call<ReceiveResult[]>("ep", { role: "client", index: "all", op: "progress" }, 3000).catch(() => [])));
          const got = progress.flat().reduce((sum, r) => sum + r.bytes, 0);
          const why = timedOut ? `cap ${transferCapMs / 1000} s` : (error as Error).message.split("\n")[0]!.replace(/^[\w-]+: /, "");
          const note = `${why}; ${Math.round((100 * got) / total)}% arrived in ${elapsed.toFixed(0)} s`;
          context.log(`sessions-50 ${variant}: connect ${connectSeconds.toFixed(1)} s, ${perSession.toFixed(2)} MiB/session; transfer: ${note}`);
          record("throughput", got / MiB / elapsed, "MiB/s", "higher", timedOut ? "timeout" : "error", note);
          aborted = true;
        }
      } catch (error) {
        const note = (error as Error).message.split("\n")[0];
        context.log(`sessions-50 ${variant}: ${note}`);
        record("throughput", null, "MiB/s", "higher", "error", note);
        aborted = true;
      } finally {
        if (aborted) {
          // A wedged run: fresh frontend processes for the next variant.
          await Promise.all([...clients.map((a) => a.kill()), server?.kill()]);
          clients = [];
        } else {
          await Promise.all(clients.map((c) => c.call("closeClients", {}, 20_000).catch(() => c.kill())));
          clients = clients.filter((c) => c.process.exitCode === null && c.process.signalCode === null);
          if (clients.length < CLIENT_PROCESSES) {
            await Promise.all(clients.map((c) => c.kill()));
            clients = [];
          }
          await server?.close();
        }
      }
    }
    await Promise.all(clients.map((c) => c.close()));
  },
};
