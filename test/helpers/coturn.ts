/**
 * A real TURN server for tests: Debian's coturn (`turnserver`), started with a temporary
 * configuration on a free port, either with a long-term credential (`lt-cred-mech`, one
 * user) or with the REST-API shared secret (`use-auth-secret`). Its log is kept so a test
 * can prove that traffic went through the relay (each successful ALLOCATE is counted).
 * Always `stop()` it (in `after`): that kills the process and removes its files.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { createSocket } from "node:dgram";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const TURNSERVER_PATH = process.env.TURNSERVER_PATH ?? "/usr/bin/turnserver";

/** How the server authenticates clients. */
export type TurnAuth =
  | { mode: "long-term"; username: string; password: string }
  | { mode: "shared-secret"; secret: string };

export interface TurnServerOptions {
  /** Default: a long-term credential `bonito` / a random password. */
  auth?: TurnAuth;
  /** Address to listen and relay on. Default 127.0.0.1 (then loopback peers are allowed). */
  address?: string;
  /** Start the process some other way, e.g. inside a network namespace (`NetnsHost.spawn`). */
  spawn?: (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;
  /**
   * Refuse every allocation after authenticating it (coturn's `no-udp-relay`: a client asking
   * for a UDP relay, as WebRTC stacks do, gets 442), to test what a client does with a refusal.
   */
  refuseAllocations?: boolean;
  /** Bound on startup. Default 10 s. */
  startTimeoutMs?: number;
}

/** A running coturn. */
export interface TurnServer {
  /** `turn:<address>:<port>?transport=udp`. */
  readonly url: string;
  readonly address: string;
  readonly port: number;
  readonly auth: TurnAuth;
  /** The `iceServers` entry for the long-term credential (throws in shared-secret mode). */
  iceServer(): { urls: string; username: string; credential: string };
  /** Successful allocations so far (one per relayed candidate a client obtained). */
  allocations(): number;
  /** Everything coturn logged so far. */
  log(): string;
  /** Kill coturn and remove its files. Idempotent. */
  stop(): Promise<void>;
}

const REALM = "bonito.test";

/** Start coturn. */
export async function startTurnServer(options: TurnServerOptions = {}): Promise<TurnServer> {
  const address = options.address ?? "127.0.0.1";
  const auth: TurnAuth = options.auth ?? { mode: "long-term", username: "bonito", password: randomWord() };
  const dir = await mkdtemp(join(tmpdir(), "bonito-coturn-"));
  try {
    // A free port can be taken between our probe and coturn's bind: try a few.
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = options.spawn ? 3478 + attempt : await freePort(address);
      try {
        return await launch(dir, address, port, auth, options);
      } catch (error) {
        lastError = error as Error;
      }
    }
    throw lastError!;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function launch(dir: string, address: string, port: number, auth: TurnAuth, options: TurnServerOptions): Promise<TurnServer> {
  const config = join(dir, "turnserver.conf");
  const lines = [
    `listening-ip=${address}`,
    `relay-ip=${address}`,
    `listening-port=${port}`,
    `realm=${REALM}`,
    ...(auth.mode === "long-term"
      ? ["lt-cred-mech", `user=${auth.username}:${auth.password}`]
      : ["use-auth-secret", `static-auth-secret=${auth.secret}`]),
    // Tests run both peers on this machine; coturn refuses loopback peers otherwise.
    "allow-loopback-peers",
    ...(options.refuseAllocations ? ["no-udp-relay"] : []),
    "no-cli",
    "no-tls",
    "no-dtls",
    "no-rfc5780",
    "fingerprint",
    "verbose",
    "log-file=stdout",
    "simple-log",
    `pidfile=${join(dir, "turnserver.pid")}`,
    // Never the system's /var/lib/turn database.
    `userdb=${join(dir, "turndb")}`,
  ];
  await writeFile(config, lines.join("\n") + "\n");
  const start = options.spawn ?? ((command, args, spawnOptions) => spawn(command, args, spawnOptions));
  let child: ChildProcess;
  try {
    child = start(TURNSERVER_PATH, ["-c", config], { stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    throw notInstalled(error as Error);
  }
  let log = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const onOutput = (chunk: Buffer) => (log += chunk.toString());
  child.stdout!.on("data", onOutput);
  child.stderr!.on("data", onOutput);
  const listening = `UDP listener opened on: ${address}:${port}`;
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const force = setTimeout(() => child.kill("SIGKILL"), 2000);
      await exited;
      clearTimeout(force);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`coturn did not start within ${timeoutMs} ms:\n${log.slice(-2000)}`)), timeoutMs);
      const check = () => {
        if (log.includes(listening)) done();
        else if (/Cannot bind|Address already in use|cannot bind/i.test(log)) done(new Error(`coturn could not bind ${address}:${port}`));
      };
      const onExit = () => done(new Error(`coturn exited during startup:\n${log.slice(-2000)}`));
      const onError = (error: Error) => done(notInstalled(error));
      const done = (error?: Error) => {
        clearTimeout(timer);
        child.stdout!.off("data", check);
        child.stderr!.off("data", check);
        child.off("exit", onExit);
        child.off("error", onError);
        if (error) reject(error);
        else resolve();
      };
      child.stdout!.on("data", check);
      child.stderr!.on("data", check);
      child.once("exit", onExit);
      child.once("error", onError);
      check();
    });
  } catch (error) {
    // Keep the directory for the next attempt; only the process goes.
    stopped = false;
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    throw error;
  }
  const url = `turn:${address}:${port}?transport=udp`;
  return {
    url,
    address,
    port,
    auth,
    iceServer() {
      if (auth.mode !== "long-term") throw new Error("this TURN server uses a shared secret: derive credentials per session");
      return { urls: url, username: auth.username, credential: auth.password };
    },
    allocations: () => (log.match(/ALLOCATE processed, success/g) ?? []).length,
    log: () => log,
    stop,
  };
}

/** A port that is free for both TCP and UDP on `address` right now. */
async function freePort(address: string): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, address, () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = createSocket("udp4");
      socket.once("error", () => resolve(false));
      socket.bind(port, address, () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

function notInstalled(error: Error): Error {
  if ((error as NodeJS.ErrnoException).code === "ENOENT") {
    return new Error(`coturn is not installed (${TURNSERVER_PATH}): apt-get install coturn`);
  }
  return error;
}

function randomWord(): string {
  return randomBytes(9).toString("base64url");
}
