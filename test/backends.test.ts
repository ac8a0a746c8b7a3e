/**
 * Picking the Node WebRTC backend: unknown names and a missing node-datachannel fail
 * early with an error that says what to do; the native cleanup waits for the last peer
 * connection. No network here, except one served session for the frontend option.
 */
import { describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { BACKEND_NAMES, checkBackendName, loadBackend } from "../src/webrtc/backends/index.js";
import { loadNdcBackend } from "../src/webrtc/backends/node-datachannel/backend.js";
import { NativeLifetime } from "../src/webrtc/backends/node-datachannel/lifetime.js";
import { WebRTCConnection, type BackendName } from "../src/webrtc/index.js";
import { serve } from "../src/index.js";
import { connectFrontend } from "../src/frontend/node/index.js";

const UNKNOWN = /unknown WebRTC backend "webkit"; available: "werift", "node-datachannel"/;

describe("backend names", () => {
  it("lists werift (the default) and node-datachannel", () => {
    assert.deepEqual(BACKEND_NAMES, ["werift", "node-datachannel"]);
    assert.equal(new WebRTCConnection().backendName, "werift");
  });

  it("an unknown backend fails where it is configured, naming the ones available", async () => {
    assert.throws(() => checkBackendName("webkit"), UNKNOWN);
    assert.throws(() => new WebRTCConnection({ backend: "webkit" as BackendName }), UNKNOWN);
    await assert.rejects(loadBackend("webkit" as BackendName), UNKNOWN);
    assert.throws(() => checkBackendName(undefined), /unknown WebRTC backend undefined/);
  });

  it("an unknown backend for a Node frontend fails before it negotiates", { timeout: 20_000 }, async () => {
    const server = await serve(() => "<p>x</p>", { connection: () => new WebRTCConnection() });
    try {
      await assert.rejects(connectFrontend(server.url, { webrtc: { backend: "webkit" as BackendName } }), UNKNOWN);
    } finally {
      await server.close();
    }
  });

  it("a backend is loaded once: every load gives the same object", async () => {
    const first = await loadBackend("werift");
    assert.equal(first.name, "werift");
    assert.equal(await loadBackend("werift"), first);
  });
});

describe("loading node-datachannel", () => {
  it("says how to install it when the package is missing", async () => {
    const missing = Object.assign(new Error("Cannot find package 'node-datachannel' imported from /app/dist/src/webrtc/ndc-backend.js"), {
      code: "ERR_MODULE_NOT_FOUND",
    });
    await assert.rejects(
      loadNdcBackend(() => Promise.reject(missing)),
      (error: Error) => error.message === "node-datachannel is not installed: npm install node-datachannel" && error.cause === missing,
    );
  });

  it("passes on the loader's reason when it is installed but does not load", async () => {
    const broken = new Error("Cannot load native addon for node-datachannel on linux (x64).");
    await assert.rejects(loadNdcBackend(() => Promise.reject(broken)), /^Error: node-datachannel could not be loaded: Cannot load native addon/);
    // A missing dependency of node-datachannel is not "node-datachannel is not installed".
    const dependency = Object.assign(new Error("Cannot find package 'detect-libc' imported from /app/node_modules/node-datachannel/dist/x.mjs"), {
      code: "ERR_MODULE_NOT_FOUND",
    });
    await assert.rejects(loadNdcBackend(() => Promise.reject(dependency)), /could not be loaded: Cannot find package 'detect-libc'/);
  });
});

describe("native cleanup (NativeLifetime)", () => {
  /** A lifetime whose cleanup calls are counted, with a 20 ms grace on mocked timers. */
  function counted(t: TestContext) {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const calls = { count: 0 };
    return { lifetime: new NativeLifetime(() => calls.count++, 20), calls };
  }

  it("cleans up once the last connection has closed and the grace has passed", (t) => {
    const { lifetime, calls } = counted(t);
    lifetime.opened();
    lifetime.opened();
    lifetime.closed();
    t.mock.timers.tick(1000);
    assert.equal(calls.count, 0, "one connection is still open");
    lifetime.closed();
    t.mock.timers.tick(19);
    assert.equal(calls.count, 0, "not before the grace");
    t.mock.timers.tick(1);
    assert.equal(calls.count, 1);
    assert.equal(lifetime.liveCount, 0);
  });

  it("a connection made during the grace cancels the cleanup", (t) => {
    const { lifetime, calls } = counted(t);
    lifetime.opened();
    lifetime.closed();
    t.mock.timers.tick(10);
    lifetime.opened();
    t.mock.timers.tick(1000);
    assert.equal(calls.count, 0);
    lifetime.closed();
    t.mock.timers.tick(20);
    assert.equal(calls.count, 1);
  });

  it("a failing cleanup becomes a warning, not an exception", async () => {
    const lifetime = new NativeLifetime(() => {
      throw new Error("cleanup timeout (possible deadlock)");
    }, 1);
    const warned = new Promise<Error>((resolve) => {
      // Other warnings (an experimental API used by another test) may come first.
      const onWarning = (warning: Error) => {
        if (!warning.message.includes("node-datachannel")) return;
        process.off("warning", onWarning);
        resolve(warning);
      };
      process.on("warning", onWarning);
    });
    // The lifetime's timer is unref'd (it must not hold a process open); this one waits for it.
    const keepAlive = setTimeout(() => {}, 1000);
    lifetime.opened();
    lifetime.closed();
    assert.match((await warned).message, /node-datachannel cleanup failed: cleanup timeout/);
    clearTimeout(keepAlive);
  });
});
