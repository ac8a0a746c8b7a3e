/**
 * Two processes: the server in a child process, the Node frontend here (and a second
 * frontend process that gets SIGKILLed). Real peers, real signaling on 127.0.0.1; once
 * per backend (werift, node-datachannel), the same one in both processes.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connectFrontend, type Frontend } from "../src/frontend/node/index.js";
import { spawnFixture, type Child } from "./helpers/process.js";
import { backendArg, backendCases } from "./helpers/backends.js";
import { patternBytes, nextValue, within, MiB } from "./helpers/payload.js";

for (const { backend, skip } of await backendCases()) {
  describe(`Node ↔ Node over WebRTC [${backend}], two processes`, { timeout: 240_000, skip }, () => {
    let server: Child;
    let url: string;
    let frontend: Frontend;
    let setupMs = 0;

    before(async () => {
      server = spawnFixture("echo-server", [backendArg(backend)]);
      url = (await server.waitFor(/^READY (\S+)/))[1]!;
      const started = performance.now();
      frontend = await connectFrontend(url, { webrtc: { backend } });
      setupMs = performance.now() - started;
    });
    after(async () => {
      await frontend?.close();
      await server?.stop();
    });

    test("the frontend connected over the data channel", (t) => {
      assert.equal(frontend.connectionType, "webrtc");
      t.diagnostic(`connectFrontend took ${setupMs.toFixed(0)} ms (bootstrap, signaling, ICE, DTLS, SCTP)`);
    });

    for (const size of [0, 65_537, MiB, 32 * MiB]) {
      test(`echo of a ${size}-byte Uint8Array is byte-exact`, async () => {
        const payload = patternBytes(size, size + 11);
        const arrived = nextValue(frontend.observable<Uint8Array>("output"), 90_000);
        await frontend.observable("input").set(payload);
        const echoed = await arrived;
        assert.equal(echoed.length, size);
        assert.ok(Buffer.from(echoed.buffer, echoed.byteOffset, echoed.byteLength).equals(payload), "bytes differ");
      });
    }

    test("a 64 MiB transfer under backpressure arrives whole, with bounded memory", async (t) => {
      const expected = patternBytes(MiB, 99);
      let chunks = 0;
      let corrupt = 0;
      const rssBefore = process.memoryUsage().rss;
      let peakRss = rssBefore;
      const done = new Promise<void>((resolve) => {
        frontend.observable<Uint8Array>("stream").on((chunk) => {
          if (!Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).equals(expected)) corrupt++;
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
          if (++chunks === 64) resolve();
        });
      });
      const started = Date.now();
      server.send("stream 64");
      await within(done, 180_000, "64 MiB arrive");
      const seconds = (Date.now() - started) / 1000;
      const serverGrowth = Number((await server.waitFor(/^STREAMED 64 (\d+)/))[1]);
      assert.equal(corrupt, 0, "every chunk byte-exact");
      t.diagnostic(
        `64 MiB in ${seconds.toFixed(1)} s (${(64 / seconds).toFixed(1)} MiB/s); peak RSS growth: server ${serverGrowth} MiB, ` +
          `frontend ${Math.round((peakRss - rssBefore) / MiB)} MiB`,
      );
      // Backpressure bounds what the sender holds: far less than the 64 MiB it streamed.
      assert.ok(serverGrowth < 48, `server RSS grew ${serverGrowth} MiB while streaming 64 MiB`);
    });

    test("a SIGKILLed frontend process is detected by the heartbeat within 10 s", async (t) => {
      const victim = spawnFixture("frontend", [url, backendArg(backend)]);
      try {
        const sessionId = (await victim.waitFor(/^CONNECTED (\S+)/, 30_000))[1]!;
        const killedAt = Date.now();
        victim.process.kill("SIGKILL");
        const [, , reason] = await server.waitFor(new RegExp(`^CLOSED (${sessionId}) (.*)$`), 10_000);
        const seconds = (Date.now() - killedAt) / 1000;
        t.diagnostic(`session closed ${seconds.toFixed(1)} s after SIGKILL: ${reason}`);
        assert.match(reason!, /heartbeat/);
      } finally {
        await victim.stop();
      }
    });
    test("the server process exits on its own once closed, with no handle left open", async () => {
      await frontend.close();
      const exited = new Promise<number | null>((resolve) => server.process.once("exit", (code) => resolve(code)));
      // Closing stdin makes the fixture close its server and return, without process.exit.
      server.process.stdin!.end();
      const code = await within(exited, 5000, "server process exits");
      assert.equal(code, 0, "exit code 3 means something kept the process alive after the close");
    });
  });
}
