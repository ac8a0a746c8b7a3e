/** Child processes for two-process tests: spawn a compiled fixture and read its stdout lines. */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

export interface Child {
  process: ChildProcess;
  /** Resolves with the first stdout line matching `pattern`; rejects after `timeoutMs` or on exit. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Send a line to its stdin. */
  send(line: string): void;
  /** Stop it (SIGKILL after a grace period) and wait for its exit. */
  stop(): Promise<void>;
}

/** Run `test/fixtures/<name>.js` (compiled) with `args`; inside the network namespace `netns` when given. */
export function spawnFixture(name: string, args: string[] = [], options: { netns?: string } = {}): Child {
  return spawnScript(fileURLToPath(new URL(`../fixtures/${name}.js`, import.meta.url)), args, {}, options.netns);
}

/**
 * Run the compiled script at `script` (an absolute path) with `args` and extra environment,
 * inside the network namespace `netns` when given (`ip netns exec` execs Node itself, so the
 * child is still the Node process).
 */
export function spawnScript(script: string, args: string[] = [], env: Record<string, string> = {}, netns?: string): Child {
  const name = script;
  const command = [process.execPath, script, ...args];
  if (netns) command.unshift("ip", "netns", "exec", netns);
  const child = spawn(command[0]!, command.slice(1), { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, ...env } });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    lines.push(line);
    waiters.forEach((w) => w());
  });
  return {
    process: child,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        let seen = 0;
        const check = () => {
          for (; seen < lines.length; seen++) {
            const match = lines[seen]!.match(pattern);
            if (match) {
              lines.splice(seen, 1);
              done();
              return resolve(match);
            }
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`fixture ${name} printed no line matching ${pattern} within ${timeoutMs} ms`));
        }, timeoutMs);
        const onExit = () => {
          done();
          reject(new Error(`fixture ${name} exited before printing ${pattern}`));
        };
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off("exit", onExit);
        };
        child.once("exit", onExit);
        waiters.add(check);
        check();
      });
    },
    send(line) {
      child.stdin!.write(`${line}\n`);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin!.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
