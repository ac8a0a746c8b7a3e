/**
 * A benchmark peer process. The orchestrator (bench/run.ts) spawns one per Node peer so
 * that each side has its own event loop, CPU profile and RSS, and drives it with JSON
 * lines on stdin: `{ id, op, args }`. Replies are stdout lines `@bench {id, ok, result |
 * error}`; anything else on stdout/stderr is diagnostics. Closing stdin or `shutdown`
 * closes everything (each close bounded) and exits.
 */
import { createInterface } from "node:readline";
import { BonitoBenchServer, connectBonito } from "./bonito.js";
import { BareServer, connectBare } from "./bare.js";
import { EndpointDriver, type DriverOp } from "../shared/driver.js";
import type { Endpoint } from "../shared/endpoint.js";
import { isBareServer, type TransportSpec } from "../shared/variants.js";
import { closeWithin, RssWatch } from "./util.js";
import { monoNow } from "../shared/clock.js";

interface Client {
  endpoint: Endpoint;
  driver: EndpointDriver;
  close(): Promise<void>;
}

let server: BonitoBenchServer | BareServer | null = null;
const clients: Client[] = [];
const serverDrivers = new WeakMap<Endpoint, EndpointDriver>();
const rss = new RssWatch();

// werift can reject from its own async handlers on unexpected input; a benchmark peer
// must report, not crash (the orchestrator sees the failure as a timeout or error).
process.on("unhandledRejection", (error) => console.error("agent: unhandled rejection:", error));

function serverDriver(index: number): EndpointDriver {
  const peers = server?.peers ?? [];
  const peer = peers[index < 0 ? peers.length + index : index];
  if (!peer) throw new Error(`no server peer ${index} (have ${peers.length})`);
  let driver = serverDrivers.get(peer.endpoint);
  if (!driver) serverDrivers.set(peer.endpoint, (driver = new EndpointDriver(peer.endpoint)));
  return driver;
}

function drivers(role: "server" | "client", index: number | "all"): EndpointDriver[] {
  if (role === "server") {
    const count = server?.peers.length ?? 0;
    return index === "all" ? Array.from({ length: count }, (_, i) => serverDriver(i)) : [serverDriver(index)];
  }
  if (index === "all") return clients.map((c) => c.driver);
  const client = clients[index < 0 ? clients.length + index : index];
  if (!client) throw new Error(`no client ${index} (have ${clients.length})`);
  return [client.driver];
}

async function connect(url: string, spec: TransportSpec): Promise<Client> {
  const link = isBareServer(spec) ? await connectBare(url, spec.backend) : await connectBonito(url, spec);
  return { ...link, driver: new EndpointDriver(link.endpoint) };
}

/** Run `tasks` with at most `limit` at once; results in order. */
async function limited<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return results;
}

const ops: Record<string, (args: any) => Promise<unknown> | unknown> = {
  async serve(args: { spec: TransportSpec }) {
    const spec = args.spec;
    server = isBareServer(spec) ? await BareServer.start(spec.backend, spec.kind === "framed") : await BonitoBenchServer.start(spec);
    return { url: server.url };
  },
  async waitPeers(args: { count: number }) {
    if (!server) throw new Error("not serving");
    await server.waitPeers(args.count);
    return { peers: server.peers.length };
  },
  /** Connect `count` frontends (at most `concurrency` negotiating at once); returns each setup time. */
  async connect(args: { url: string; spec: TransportSpec; count?: number; concurrency?: number }) {
    const ms = await limited(args.count ?? 1, args.concurrency ?? 1, async () => {
      const t0 = monoNow();
      const client = await connect(args.url, args.spec);
      const elapsed = monoNow() - t0;
      clients.push(client);
      return elapsed;
    });
    return { ms, clients: clients.length };
  },
  /** Setup time of one frontend (connectFrontend call → open), which is then closed again. */
  async connectTimed(args: { url: string; spec: TransportSpec }) {
    const t0 = monoNow();
    const client = await connect(args.url, args.spec);
    const ms = monoNow() - t0;
    await closeWithin(client.close(), 3000);
    return { ms };
  },
  async closeClients() {
    const all = clients.splice(0);
    await Promise.all(all.map((c) => closeWithin(c.close(), 3000)));
    return { closed: all.length };
  },
  /** A driver op on one endpoint, or on all of them at once (results in an array). */
  async ep(args: { role: "server" | "client"; index: number | "all"; op: DriverOp; args?: unknown }) {
    const selected = drivers(args.role, args.index);
    const results = await Promise.all(selected.map((d) => d.op(args.op, args.args)));
    return args.index === "all" ? results : results[0];
  },
  rssStart() {
    return rss.start();
  },
  rssStop() {
    return rss.stop();
  },
  rss() {
    global.gc?.();
    return { rss: process.memoryUsage.rss(), heapUsed: process.memoryUsage().heapUsed };
  },
  async shutdown() {
    await shutdown();
    return { bye: true };
  },
};

let shuttingDown: Promise<void> | null = null;
function shutdown(): Promise<void> {
  shuttingDown ??= (async () => {
    await Promise.all(clients.splice(0).map((c) => closeWithin(c.close(), 3000)));
    if (server) await closeWithin(server.close(), 5000);
    // Exit after the reply is written; werift may keep sockets or timers alive.
    setTimeout(() => process.exit(0), 50);
  })();
  return shuttingDown;
}

function reply(message: object): void {
  process.stdout.write(`@bench ${JSON.stringify(message)}\n`);
}

createInterface({ input: process.stdin })
  .on("line", (line) => {
    let request: { id: number; op: string; args?: unknown };
    try {
      request = JSON.parse(line);
    } catch {
      return;
    }
    const handler = ops[request.op];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown op ${request.op}`);
        return handler(request.args ?? {});
      })
      .then(
        (result) => reply({ id: request.id, ok: true, result }),
        (error: unknown) => reply({ id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
      );
  })
  .on("close", () => void shutdown());

reply({ id: 0, ok: true, result: { ready: true, pid: process.pid } });
