/**
 * Two hosts on one machine: a pair of Linux network namespaces joined by a veth pair, each
 * with its own address and its own loopback, and nothing else (no route to this machine or
 * beyond). Needs root and iproute2 (`ip`), plus nftables (`nft`) for `blockUdp`.
 *
 * Nothing is created in the caller's own namespace: both veth ends are made directly inside
 * the new namespaces, so concurrent runs cannot collide on interface names or addresses.
 * Namespace names carry this process's pid; `destroy()` (call it in `after`) removes them,
 * an `exit` hook removes whatever is left if a test forgot, and namespaces of runs whose
 * process died are swept the next time a pair is created.
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { promisify } from "node:util";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const run = promisify(execFile);

/** Every namespace made here is called `<PREFIX><pid>-<n>-<role>`. */
const PREFIX = "bonito-t";
/** The two ends of the link. Private to the pair: the same subnet in every pair is fine. */
const SERVER_ADDRESS = "10.231.0.1";
const FRONTEND_ADDRESS = "10.231.0.2";
const PREFIX_LENGTH = 24;
/** The nftables table `blockUdp` adds (inside the frontend namespace only). */
const BLOCK_TABLE = "bonito_block";

/** One end of the pair: a namespace with one interface and one address. */
export interface NetnsHost {
  /** Namespace name, for `ip netns exec`. */
  readonly name: string;
  /** Its IPv4 address on the link. */
  readonly address: string;
  /** Its interface name (inside the namespace). */
  readonly iface: string;
  /** Start `command` inside this namespace (the child is the command itself: `ip netns exec` execs it). */
  spawn(command: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Run `command` inside this namespace and return its stdout; rejects on a non-zero exit. */
  exec(command: string, args: readonly string[]): Promise<string>;
}

/** A server host and a frontend host that reach each other only over their veth link. */
export interface HostPair {
  readonly server: NetnsHost;
  readonly frontend: NetnsHost;
  /** Drop every UDP packet entering or leaving the frontend host (TCP still passes). */
  blockUdp(): Promise<void>;
  /** Undo `blockUdp`. */
  allowUdp(): Promise<void>;
  /** Delete both namespaces (and with them the veth pair and any nft rules). Idempotent. */
  destroy(): Promise<void>;
}

const live = new Set<string>();
let created = 0;
let exitHookInstalled = false;

/** Whether this process may create namespaces here; a string says why not. */
export async function netnsUnavailable(): Promise<string | false> {
  if (process.platform !== "linux") return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "network namespaces need root";
  try {
    await run("ip", ["-V"]);
  } catch {
    return "iproute2 (`ip`) is not installed: apt-get install iproute2";
  }
  return false;
}

/** Create a fresh pair of hosts. Always `destroy()` it. */
export async function createHostPair(): Promise<HostPair> {
  const reason = await netnsUnavailable();
  if (reason) throw new Error(reason);
  await sweepDeadRuns();
  installExitHook();
  const id = `${process.pid}-${++created}`;
  const server = `${PREFIX}${id}-s`;
  const frontend = `${PREFIX}${id}-f`;
  // Interface names are per namespace, so fixed names cannot collide. "eth0", as in a
  // container: werift ignores interfaces whose names start with veth, tun, tap or vmnet.
  const serverIface = "eth0";
  const frontendIface = "eth0";
  const made: string[] = [];
  try {
    for (const name of [server, frontend]) {
      await ip("netns", "add", name);
      made.push(name);
      live.add(name);
    }
    await ip("link", "add", "name", serverIface, "netns", server, "type", "veth", "peer", "name", frontendIface, "netns", frontend);
    await configure(server, serverIface, SERVER_ADDRESS, FRONTEND_ADDRESS);
    await configure(frontend, frontendIface, FRONTEND_ADDRESS, SERVER_ADDRESS);
    // Carrier comes up a moment after both ends are set up; until then the interface has
    // no RUNNING flag and programs that list interfaces (libuv, so werift) do not see it.
    await Promise.all([waitUntilUp(server, serverIface), waitUntilUp(frontend, frontendIface)]);
  } catch (error) {
    await Promise.all(made.map(deleteNamespace));
    throw error;
  }
  let destroyed = false;
  return {
    server: host(server, SERVER_ADDRESS, serverIface),
    frontend: host(frontend, FRONTEND_ADDRESS, frontendIface),
    async blockUdp() {
      const rules = `table inet ${BLOCK_TABLE} {
  chain input { type filter hook input priority 0; policy accept; meta l4proto udp drop; }
  chain output { type filter hook output priority 0; policy accept; meta l4proto udp drop; }
}
`;
      await nftInside(frontend, ["-f", "-"], rules);
    },
    async allowUdp() {
      await nftInside(frontend, ["delete", "table", "inet", BLOCK_TABLE]);
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await Promise.all([server, frontend].map(deleteNamespace));
    },
  };
}

/**
 * A Chromium executable that runs inside `namespace`: a wrapper script for Playwright's
 * `executablePath` (Playwright talks to the browser over inherited pipes, which cross
 * namespaces). Returns the script's path and a function that removes it.
 */
export async function chromiumInside(namespace: string, chromium: string): Promise<{ path: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "bonito-netns-chromium-"));
  const path = join(dir, "chromium");
  await writeFile(path, `#!/bin/sh\nexec ip netns exec ${shellWord(namespace)} ${shellWord(chromium)} "$@"\n`);
  await chmod(path, 0o755);
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}

function host(name: string, address: string, iface: string): NetnsHost {
  return {
    name,
    address,
    iface,
    spawn(command, args, options = {}) {
      return spawn("ip", ["netns", "exec", name, command, ...args], options);
    },
    async exec(command, args) {
      return (await run("ip", ["netns", "exec", name, command, ...args])).stdout;
    },
  };
}

async function configure(namespace: string, iface: string, address: string, peer: string): Promise<void> {
  await ip("-n", namespace, "addr", "add", `${address}/${PREFIX_LENGTH}`, "dev", iface);
  await ip("-n", namespace, "link", "set", iface, "up");
  await ip("-n", namespace, "link", "set", "lo", "up");
  // A default route, as every real host has: Chromium gathers candidates only on the
  // interface of its default route. Nothing forwards beyond the peer, so no packet leaves.
  await ip("-n", namespace, "route", "add", "default", "via", peer, "dev", iface);
}

/** Resolves once `iface` in `namespace` reports operational state UP; bounded. */
async function waitUntilUp(namespace: string, iface: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { stdout } = await run("ip", ["-n", namespace, "-o", "link", "show", "dev", iface]);
    if (/\bstate UP\b/.test(stdout)) return;
    if (Date.now() > deadline) throw new Error(`${iface} in ${namespace} did not come up within ${timeoutMs} ms: ${stdout.trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run("ip", args);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(" ")} failed: ${stderr || (error as Error).message}`);
  }
}

async function nftInside(namespace: string, args: string[], input?: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn("ip", ["netns", "exec", namespace, "nft", ...args], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", (error) =>
      reject(new Error(`nft could not start (${error.message}); install nftables: apt-get install nftables`)),
    );
    child.once("exit", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`nft ${args.join(" ")} in ${namespace} failed (exit ${code}): ${stderr.trim()}`));
    });
    child.stdin!.end(input ?? "");
  });
}

async function deleteNamespace(name: string): Promise<void> {
  live.delete(name);
  try {
    await run("ip", ["netns", "delete", name]);
  } catch {
    // Already gone.
  }
}

/** Remove namespaces left by runs of this helper whose process no longer exists. */
async function sweepDeadRuns(): Promise<void> {
  let listing = "";
  try {
    listing = (await run("ip", ["netns", "list"])).stdout;
  } catch {
    return;
  }
  const pattern = new RegExp(`^${PREFIX}(\\d+)-\\d+-[sf]\\b`);
  for (const line of listing.split("\n")) {
    const match = pattern.exec(line.trim());
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid !== process.pid && !processExists(pid)) await deleteNamespace(match[0]);
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A test that forgot `destroy()` (or threw before it) still leaves no namespace behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const name of live) {
      try {
        execFileSync("ip", ["netns", "delete", name], { stdio: "ignore" });
      } catch {
        // Already gone.
      }
    }
  });
}

function shellWord(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
