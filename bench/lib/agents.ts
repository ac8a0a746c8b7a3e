/**
 * Child processes for the Node peers (dist/bench/agent/main.js), driven over JSON lines.
 * Every call has a deadline; `close()` asks for an orderly shutdown and kills the process
 * if it does not exit in time, so a wedged peer never hangs the run.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const AGENT = fileURLToPath(new URL("../agent/main.js", import.meta.url));

export interface AgentOptions {
  /** Write a V8 CPU profile of this agent into this directory (`node --cpu-prof`). */
  profileDir?: string;
  /** Echo the agent's stderr as it comes (otherwise only the tail is kept for errors). */
  verbose?: boolean;
}

export class Agent {
  readonly process: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private readonly stderrTail: string[] = [];
  private readonly exited: Promise<void>;
  private readonly ready: Promise<void>;

  constructor(
    readonly name: string,
    options: AgentOptions = {},
  ) {
    const execArgv = ["--expose-gc"];
    if (options.profileDir) {
      execArgv.push("--cpu-prof", `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=${name}.${Date.now()}.cpuprofile`);
    }
    this.process = spawn(process.execPath, [...execArgv, AGENT], { stdio: ["pipe", "pipe", "pipe"] });
    this.exited = new Promise((resolve) => this.process.once("exit", () => resolve()));
    let readyResolve!: () => void;
    this.ready = new Promise((resolve) => (readyResolve = resolve));
    createInterface({ input: this.process.stdout! }).on("line", (line) => {
      if (!line.startsWith("@bench ")) {
        this.keep(`stdout: ${line}`, options.verbose);
        return;
      }
      const message = JSON.parse(line.slice(7)) as { id: number; ok: boolean; result?: unknown; error?: string };
      if (message.id === 0) return readyResolve();
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (!waiter) return;
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(`${this.name}: ${message.error}`));
    });
    createInterface({ input: this.process.stderr! }).on("line", (line) => this.keep(line, options.verbose));
    void this.exited.then(() => {
      const error = new Error(`${this.name} exited (${this.process.exitCode ?? this.process.signalCode})${this.tail()}`);
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  /** Resolves once the agent has loaded and can take calls. */
  started(timeoutMs = 20_000): Promise<void> {
    return deadline(this.ready, timeoutMs, `${this.name} did not start`);
  }

  /** Run `op` in the agent; rejects on error, exit, or after `timeoutMs`. */
  call<T = any>(op: string, args: unknown = {}, timeoutMs = 60_000): Promise<T> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) {
      return Promise.reject(new Error(`${this.name} is not running${this.tail()}`));
    }
    const id = this.nextId++;
    const result = new Promise<T>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.process.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    return deadline(result, timeoutMs, `${this.name}: ${op} took longer than ${timeoutMs} ms`).finally(() => this.pending.delete(id));
  }

  /** Orderly shutdown within `graceMs`, then SIGKILL. Never rejects. */
  async close(graceMs = 8000): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const timer = setTimeout(() => this.process.kill("SIGKILL"), graceMs);
    this.call("shutdown", {}, graceMs).catch(() => {});
    await this.exited;
    clearTimeout(timer);
  }

  /** Kill at once (after a run that timed out: its peer may be wedged). */
  async kill(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    this.process.kill("SIGKILL");
    await this.exited;
  }

  private keep(line: string, echo = false): void {
    this.stderrTail.push(line);
    if (this.stderrTail.length > 30) this.stderrTail.shift();
    if (echo) process.stderr.write(`[${this.name}] ${line}\n`);
  }

  private tail(): string {
    return this.stderrTail.length ? `\n  last output of ${this.name}:\n    ${this.stderrTail.slice(-8).join("\n    ")}` : "";
  }
}

/** Spawn an agent and wait until it is ready. */
export async function startAgent(name: string, options: AgentOptions = {}): Promise<Agent> {
  const agent = new Agent(name, options);
  try {
    await agent.started();
  } catch (error) {
    await agent.kill();
    throw error;
  }
  return agent;
}

/** Rejects with `what` unless `promise` settles within `ms`. */
export function deadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(what)), ms);
      timer.unref();
    }),
  ]);
}

export class TimeoutError extends Error {
  override name = "TimeoutError";
}

