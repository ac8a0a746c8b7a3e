/**
 * A third-party frontend: Python on aiortc (Debian's python3-aiortc and python3-websockets),
 * written from PROTOCOL.md and src/signaling/README.md alone (test/interop/aiortc_frontend.py),
 * against a Node server on each backend. It joins, completes the handshake, echoes values
 * of mixed types and a 1 MiB byte array byte-exact, and closes with the CLOSE handshake.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { serve } from "../src/index.js";
import { WebRTCConnection } from "../src/webrtc/index.js";
import { echoApp } from "./helpers/echo-app.js";
import { backendCases } from "./helpers/backends.js";
import { patternBytes, within, MiB } from "./helpers/payload.js";

const PYTHON = process.env.PYTHON ?? "/usr/bin/python3";
const FRONTEND = fileURLToPath(new URL("../../test/interop/aiortc_frontend.py", import.meta.url));
const SEED = 29;

interface PythonEvent {
  event: string;
  [key: string]: unknown;
}

/** Runs the Python frontend against `url`; resolves with its exit code and the events it printed. */
async function runPythonFrontend(url: string): Promise<{ code: number | null; events: PythonEvent[]; stderr: string }> {
  const child = spawn(PYTHON, [FRONTEND, url, "--seed", String(SEED), "--big", String(MiB)], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const code = await within(exited, 100_000, "the Python frontend exits").catch((error: Error) => {
    child.kill("SIGKILL");
    throw error;
  });
  const events = stdout
    .split("\n")
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as PythonEvent);
  return { code, events, stderr };
}

for (const { backend, skip } of await backendCases()) {
  describe(`Python aiortc frontend, server on ${backend}`, { timeout: 120_000, skip }, () => {
    test("joins, completes the handshake, echoes every value byte-exact, closes cleanly", async (t) => {
      const echo = echoApp();
      const server = await serve(echo.app, { connection: () => new WebRTCConnection({ backend }) });
      try {
        const { code, events, stderr } = await runPythonFrontend(server.url);
        const failure = events.find((e) => e.event === "error");
        assert.equal(failure, undefined, `the Python frontend failed: ${String(failure?.message)}\n${stderr}`);
        assert.equal(code, 0, stderr);

        const ready = events.find((e) => e.event === "ready")!;
        t.diagnostic(`data channel open after ${String(ready.openedMs)} ms, session ready after ${String(ready.readyMs)} ms (from the bootstrap request)`);
        const echoes = events.filter((e) => e.event === "echo");
        assert.equal(echoes.length, 12);
        assert.deepEqual(echoes.filter((e) => e.ok !== true), []);
        assert.deepEqual(events.at(-1), { event: "closed", acknowledged: true }, "the server answered CLOSE with CLOSE_ACK");

        const entry = echo.sessions.at(-1)!;
        const kinds = entry.received.map((value) => (value === null ? "null" : (value as object).constructor.name));
        assert.deepEqual(kinds, ["Number", "Number", "Number", "String", "Boolean", "null", "Array", "Object", "Float32Array", "Int16Array", "Float64Array", "Uint8Array"]);
        assert.deepEqual(entry.received.slice(0, 4), [42, -70_000, 3.25, "grüße, 世界"]);
        assert.deepEqual(Array.from(entry.received[8] as Float32Array), [1.5, -2, 0.25]);
        const big = entry.received[11] as Uint8Array;
        assert.ok(Buffer.from(big.buffer, big.byteOffset, big.byteLength).equals(patternBytes(MiB, SEED)), "the 1 MiB array arrived byte-exact");
        const info = await within(entry.session.closed, 5000, "the session closes");
        assert.match(info.reason, /closed by the python frontend/);
      } finally {
        await server.close();
      }
    });
  });
}
