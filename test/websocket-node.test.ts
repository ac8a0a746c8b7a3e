/**
 * A Node frontend (`connectFrontend`) against `serve()` over the real WebSocket
 * connection on 127.0.0.1: echo byte-exact, order, types, compression, bad input.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { serve, type BonitoServer } from "../src/index.js";
import { connectFrontend, type Frontend } from "../src/frontend/node/index.js";
import { echoApp } from "./helpers/echo-app.js";
import { patternBytes, nextValue, waitUntil, within, assertCountingSequence, KiB, MiB } from "./helpers/payload.js";

for (const compression of [false, true]) {
  describe(`Node frontend over WebSocket, compression ${compression ? "on" : "off"}`, { timeout: 120_000 }, () => {
    let server: BonitoServer;
    let frontend: Frontend;
    const echo = echoApp();

    before(async () => {
      server = await serve(echo.app, { compression });
      frontend = await connectFrontend(server.url);
    });
    after(async () => {
      await frontend?.close();
      await server?.close();
    });

    test("the session is open on both sides", async () => {
      assert.equal(frontend.connectionType, "websocket");
      const session = server.sessions.get(frontend.sessionId);
      assert.ok(session, "server knows the session");
      assert.equal(session.compressionEnabled, compression);
      await waitUntil(() => session.status === "open", 5000, "session open");
    });

    for (const size of [0, 1, 64 * KiB, MiB, 8 * MiB]) {
      test(`echo of a ${size}-byte Uint8Array is byte-exact`, async () => {
        const payload = patternBytes(size, size + 7);
        const output = frontend.observable<Uint8Array>("output");
        const arrived = nextValue(output);
        await frontend.observable("input").set(payload);
        const echoed = await arrived;
        assert.ok(echoed instanceof Uint8Array, `got ${Object.prototype.toString.call(echoed)}`);
        assert.equal(Object.getPrototypeOf(echoed), Uint8Array.prototype, "a plain Uint8Array, not a Buffer");
        assert.equal(echoed.length, size);
        assert.deepEqual(Buffer.from(echoed.buffer, echoed.byteOffset, echoed.byteLength), Buffer.from(payload));
      });
    }

    test("values keep their types both ways", async () => {
      const value = {
        f32: new Float32Array([1.5, -2.25, Math.PI]),
        i16: new Int16Array([-32768, 0, 32767]),
        f64: new Float64Array([Number.MAX_VALUE, -0]),
        text: "grüße 👋",
        list: [1, 2.5, "three", null, true],
        nested: { a: { b: [new Uint32Array([4294967295])] } },
      };
      const arrived = nextValue(frontend.observable("output"));
      await frontend.observable("input").set(value);
      const echoed = (await arrived) as typeof value;
      const received = echo.sessions.at(-1)!.received.at(-1) as typeof value;
      for (const seen of [received, echoed]) {
        assert.ok(seen.f32 instanceof Float32Array);
        assert.deepEqual([...seen.f32], [...value.f32]);
        assert.ok(seen.i16 instanceof Int16Array);
        assert.deepEqual([...seen.i16], [...value.i16]);
        assert.ok(seen.f64 instanceof Float64Array);
        assert.ok(Object.is(seen.f64[1], -0));
        assert.equal(seen.text, value.text);
        assert.deepEqual(seen.list, value.list);
        assert.ok(seen.nested.a.b[0] instanceof Uint32Array);
        assert.equal(seen.nested.a.b[0]![0], 4294967295);
      }
    });

    test("1,000 updates arrive in order both ways", async () => {
      const session = echo.sessions.at(-1)!;
      session.received.length = 0;
      const echoed: number[] = [];
      const off = frontend.observable<number>("output").on((v) => echoed.push(v));
      const input = frontend.observable<number>("input");
      for (let i = 0; i < 1000; i++) void input.set(i);
      await waitUntil(() => echoed.length === 1000, 20_000, "1,000 echoes");
      off();
      assertCountingSequence(session.received, 1000, "updates received by the server");
      assertCountingSequence(echoed, 1000, "echoes received by the frontend");
    });

    test("a change reaches the other side once and is not echoed back", async () => {
      const session = echo.sessions.at(-1)!.session;
      const serverSide = session.observable(0, "counter");
      let serverSeen = 0;
      serverSide.on(() => serverSeen++);
      const mirror = frontend.observable<number>("counter");
      const first = nextValue(mirror);
      await serverSide.set(41);
      assert.equal(await first, 41);
      assert.equal(serverSeen, 1, "server listener fires for its own set");
      let frontendSeen = 0;
      mirror.on(() => frontendSeen++);
      await mirror.set(42);
      await waitUntil(() => serverSide.value === 42, 5000, "server gets 42");
      // An ordering marker: an echo of 42, if the server wrongly sent one, would have left
      // before the server's answer to this later message, and so would arrive before it.
      const marker = nextValue(frontend.observable("output"));
      await frontend.observable("input").set("marker");
      assert.equal(await marker, "marker");
      assert.equal(frontendSeen, 1, "frontend listener fired once for its own set, no echo");
      assert.equal(serverSeen, 2);
    });

    test("evaljs runs code on the frontend", async () => {
      const session = echo.sessions.at(-1)!.session;
      const result = nextValue(frontend.observable<number>("from-js"));
      await session.evaljs(`Bonito.observable("from-js").set(6 * 7);`);
      assert.equal(await result, 42);
    });
  });
}

describe("server robustness", { timeout: 60_000 }, () => {
  test("a malformed frame closes that session only, with an error naming the problem", async () => {
    const echo = echoApp();
    const errors: string[] = [];
    const server = await serve(echo.app, { logger: { error: (...args: unknown[]) => errors.push(args.join(" ")), warn() {} } });
    let healthy: Frontend | undefined;
    let raw: WebSocket | undefined;
    try {
      healthy = await connectFrontend(server.url);
      const bootstrap = (await (await fetch(server.url, { headers: { accept: "application/json" } })).json()) as {
        sessionId: string;
        connection: { url: string };
      };
      const victim = server.sessions.get(bootstrap.sessionId)!;
      raw = new WebSocket(bootstrap.connection.url);
      await new Promise((resolve, reject) => raw!.once("open", resolve).once("error", reject));
      raw.send(new Uint8Array([0xc1, 0x00, 0xff]));
      const info = await within(victim.closed, 5000, "victim session closes");
      assert.ok(info.error, "closed with an error");
      assert.match(info.reason, /bad frame/);
      assert.equal(errors.filter((e) => e.includes(victim.id)).length, 1, "logged once");
      // The other session still works.
      const arrived = nextValue(healthy.observable("output"));
      await healthy.observable("input").set("still here");
      assert.equal(await arrived, "still here");
    } finally {
      raw?.terminate();
      await healthy?.close();
      await server.close();
    }
  });

  test("an unknown path is a 404 and an unknown session socket is refused", async () => {
    const server = await serve(() => "", {});
    try {
      const response = await fetch(new URL("/nope", server.url));
      assert.equal(response.status, 404);
      await response.text();
      const socket = new WebSocket(new URL("/bonito-ws/not-a-session", server.url.replace("http", "ws")).href);
      const outcome = await new Promise<string>((resolve) => {
        socket.once("open", () => resolve("open"));
        socket.once("error", (e) => resolve(String(e.message)));
      });
      assert.match(outcome, /404/);
      socket.terminate();
    } finally {
      await server.close();
    }
  });

  test("closing the frontend ends the server session at once", async () => {
    const echo = echoApp();
    const server = await serve(echo.app, {});
    try {
      const frontend = await connectFrontend(server.url);
      const session = server.sessions.get(frontend.sessionId)!;
      await frontend.close();
      const info = await within(session.closed, 2000, "session closes");
      assert.match(info.reason, /closed/);
      assert.equal(server.sessions.size, 0);
    } finally {
      await server.close();
    }
  });

  test("closing the session on the server closes the frontend", async () => {
    const echo = echoApp();
    const server = await serve(echo.app, {});
    try {
      const frontend = await connectFrontend(server.url);
      await server.sessions.get(frontend.sessionId)!.close();
      await within(frontend.closed, 2000, "frontend sees the close");
      assert.equal(frontend.status(), "closed");
    } finally {
      await server.close();
    }
  });
});
