/**
 * `npm run bench:networks`: connection setup on real networks, Node ↔ Node, per backend
 * (both ends on the same one): direct on loopback, relayed through a real TURN server
 * (coturn on 127.0.0.1, relay-only on both peers), across two hosts (network namespaces
 * joined by a veth pair), and with UDP blocked between those hosts, where the session falls
 * back to the WebSocket after the negotiation timeout (3 s here). Each figure is the median
 * `connectFrontend` call → connection open over several connects in one frontend process,
 * after one warm-up connect. Needs root, iproute2, nftables and coturn (as the tests do).
 */
import { fileURLToPath } from "node:url";
import { createHostPair, type HostPair } from "../test/helpers/netns.js";
import { startTurnServer, type TurnServer } from "../test/helpers/coturn.js";
import { spawnScript, type Child } from "../test/helpers/process.js";
import { backendArg, selectedBackends } from "../test/helpers/backends.js";
import { median } from "./lib/stats.js";

const SERVER = fileURLToPath(new URL("./networks/server.js", import.meta.url));
const FRONTEND = fileURLToPath(new URL("./networks/frontend.js", import.meta.url));
const CONNECTS = Number(process.env.CONNECTS ?? 6);
const FALLBACK_TIMEOUT_MS = 3000;

interface Setting {
  name: string;
  serverArgs: string[];
  /** Namespaces for server and frontend (none: this host, loopback). */
  hosts?: HostPair;
  connects: number;
}

/** Runs one setting: the server, then a frontend that connects `connects` times; returns the samples after the first. */
async function measure(setting: Setting, backend: string): Promise<{ samples: number[]; transport: string }> {
  const server: Child = spawnScript(SERVER, [backendArg(backend as never), ...setting.serverArgs], {}, setting.hosts?.server.name);
  try {
    let url = (await server.waitFor(/^READY (\S+)/, 30_000))[1]!;
    if (!setting.hosts) url = url.replace(/\/\/[^/:]+:/, "//127.0.0.1:");
    const frontend = spawnScript(FRONTEND, [url, backendArg(backend as never), `--count=${setting.connects}`], {}, setting.hosts?.frontend.name);
    try {
      const samples: number[] = [];
      let transport = "";
      for (let i = 0; i < setting.connects; i++) {
        const [, ms, used] = await frontend.waitFor(/^SAMPLE (\S+) (\S+)/, 90_000);
        if (i > 0) samples.push(Number(ms));
        transport = used!;
      }
      return { samples, transport };
    } finally {
      await frontend.stop();
    }
  } finally {
    await server.stop();
  }
}

let turn: TurnServer | undefined;
let hosts: HostPair | undefined;
try {
  turn = await startTurnServer();
  hosts = await createHostPair();
  const settings: Setting[] = [
    { name: "direct, loopback", serverArgs: [], connects: CONNECTS },
    { name: "relayed (coturn, relay-only), loopback", serverArgs: [`--turn=${JSON.stringify(turn.iceServer())}`], connects: CONNECTS },
    { name: "direct, across two hosts", serverArgs: [], hosts, connects: CONNECTS },
  ];
  const rows: string[] = [];
  for (const backend of selectedBackends()) {
    for (const setting of settings) {
      const { samples, transport } = await measure(setting, backend);
      rows.push(`| ${backend} | ${setting.name} | ${transport} | ${median(samples).toFixed(0)} ms | ${samples.map((s) => s.toFixed(0)).join(", ")} |`);
      console.error(rows.at(-1));
    }
    await hosts.blockUdp();
    try {
      const blocked: Setting = { name: `UDP blocked across two hosts, fallback after ${FALLBACK_TIMEOUT_MS} ms`, serverArgs: [`--negotiation-timeout=${FALLBACK_TIMEOUT_MS}`], hosts, connects: 3 };
      const { samples, transport } = await measure(blocked, backend);
      rows.push(`| ${backend} | ${blocked.name} | ${transport} | ${median(samples).toFixed(0)} ms | ${samples.map((s) => s.toFixed(0)).join(", ")} |`);
      console.error(rows.at(-1));
    } finally {
      await hosts.allowUdp();
    }
  }
  console.log("| backend | network | transport | setup, median | samples |\n|---|---|---|---|---|");
  for (const row of rows) console.log(row);
} finally {
  await hosts?.destroy();
  await turn?.stop();
}
