/**
 * Golden vectors (test/golden/): frames as Bonito v5 writes them, checked byte for byte both
 * ways. Our encoder must produce each vector's bytes from its message, and our decoder must
 * read the bytes back to that message. Then our frontend runtime is fed Julia's frames.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  CacheKey,
  DomNode,
  JSCode,
  NdArray,
  ObservableRef,
  SerializedMessage,
  SessionCache,
  TrackingOnly,
  decodeClientFrame,
  decodeInitFrame,
  decodeServerEnvelope,
  encodeClientFrame,
  encodeInitFrame,
  encodeServerFrame,
  type BonitoMessage,
  type SessionType,
} from "../src/protocol/index.js";
import { BonitoRuntime } from "../src/frontend/runtime.js";
import { Session } from "../src/session/session.js";
import { MemoryConnection } from "./helpers/memory-connection.js";

interface Vector {
  name: string;
  direction: "server-to-frontend" | "frontend-to-server";
  source: string;
  compression: boolean;
  hex: string;
  message: unknown;
  decoded?: unknown;
  sessionId?: string;
  sessionType?: SessionType;
  cache?: unknown[];
}

const FILE = new URL("../../test/golden/bonito-v5-frames.json", import.meta.url);
const golden = JSON.parse(readFileSync(FILE, "utf8")) as { rootSessionId: string; subSessionId: string; vectors: Vector[] };

const TYPED: Record<string, { from(values: number[]): unknown }> = {
  Int8Array, Uint8Array, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, Uint8ClampedArray,
};

/** Builds the value a tagged JSON description stands for (see test/golden/README.md). */
function build(d: any): any {
  if (d === null || typeof d !== "object") return d;
  if (Array.isArray(d)) return d.map(build);
  if ("$map" in d) return Object.fromEntries((d.$map as [string, unknown][]).map(([k, v]) => [k, build(v)]));
  if ("$typed" in d) return TYPED[d.$typed]!.from(d.values);
  if ("$float" in d) return Number(d.$float);
  if ("$number" in d) return Number(d.$number);
  if ("$observable" in d) return new ObservableRef(d.$observable[0], build(d.$observable[1]));
  if ("$jscode" in d) return new JSCode(d.$jscode.source, build(d.$jscode.interpolated), d.$jscode.file);
  if ("$cachekey" in d) return new CacheKey(d.$cachekey);
  if ("$tracking" in d) return new TrackingOnly(d.$tracking);
  if ("$node" in d) return new DomNode(d.$node[0], build(d.$node[1]), build(d.$node[2]));
  if ("$ndarray" in d) return new NdArray(d.$ndarray[0], build(d.$ndarray[1]));
  if ("$serialized" in d) {
    const s = d.$serialized;
    return new SerializedMessage(new SessionCache(s.sessionId, s.sessionType, build(s.cache)), build(s.message));
  }
  throw new Error(`unknown tag in ${JSON.stringify(d)}`);
}

/** What a reader gets for a built value: nested envelopes become their bare messages. */
function unwrapEnvelopes(value: any): any {
  if (value instanceof SerializedMessage) return unwrapEnvelopes(value.message);
  if (Array.isArray(value)) return value.map(unwrapEnvelopes);
  if (value && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapEnvelopes(v)]));
  }
  return value;
}

/** The session caches a reader meets, in wire order: the frame's own, then nested envelopes'. */
function envelopeCaches(value: any, out: SessionCache[] = []): SessionCache[] {
  if (value instanceof SerializedMessage) {
    out.push(value.cache);
    envelopeCaches(value.message, out);
  } else if (Array.isArray(value)) value.forEach((v) => envelopeCaches(v, out));
  else if (value && Object.getPrototypeOf(value) === Object.prototype) Object.values(value).forEach((v) => envelopeCaches(v, out));
  return out;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
const fromHex = (text: string) => new Uint8Array(Buffer.from(text, "hex"));

const server = golden.vectors.filter((v) => v.direction === "server-to-frontend");
const frontend = golden.vectors.filter((v) => v.direction === "frontend-to-server");

describe("golden vectors: server → frontend, as Bonito.jl writes them", () => {
  it("covers every message the server sends and the init layout", () => {
    assert.ok(server.length >= 19, `only ${server.length} server vectors`);
    const names = server.map((v) => v.name);
    for (const name of ["init-messages", "onjs-callback", "update-session", "fused-message", "update-observable-negative-zero"]) {
      assert.ok(names.includes(name), `missing vector ${name}`);
    }
  });
  for (const vector of server) {
    const sessionId = vector.sessionId!;
    const options = { sessionType: vector.sessionType!, cache: build(vector.cache) as unknown[] };
    const message = build(vector.message);
    const isInit = Array.isArray(message);
    it(`${vector.name}: our encoder writes Bonito's bytes`, () => {
      const frame = isInit
        ? encodeInitFrame(sessionId, message, vector.compression, options)
        : encodeServerFrame(sessionId, message as BonitoMessage, vector.compression, options);
      assert.equal(hex(frame), vector.hex, vector.source);
    });
    it(`${vector.name}: our decoder reads Bonito's bytes`, () => {
      const bytes = fromHex(vector.hex);
      const envelope = new SerializedMessage(new SessionCache(sessionId, options.sessionType, options.cache), message);
      const expectedCaches = envelopeCaches(envelope);
      if (isInit) {
        const init = decodeInitFrame(bytes, vector.compression);
        assert.deepEqual(init.messages, unwrapEnvelopes(message));
        assert.deepEqual(init.caches, expectedCaches);
      } else {
        const frame = decodeServerEnvelope(bytes, vector.compression);
        assert.equal(frame.sessionId, sessionId);
        assert.equal(frame.sessionType, options.sessionType);
        assert.deepEqual(frame.message, unwrapEnvelopes(message));
        assert.deepEqual(frame.caches, expectedCaches);
      }
    });
  }
});

describe("golden vectors: frontend → server, as Bonito's JavaScript writes them", () => {
  it("covers every message a frontend sends", () => {
    const codes = new Set(frontend.map((v) => (build(v.message) as BonitoMessage).msg_type));
    for (const code of ["0", "3", "4", "8", "10", "11", "13"]) assert.ok(codes.has(code as never), `no vector for msg_type ${code}`);
  });
  for (const vector of frontend) {
    it(`${vector.name}: our runtime's encoder writes Bonito's bytes`, () => {
      assert.equal(hex(encodeClientFrame(build(vector.message), vector.compression)), vector.hex, vector.source);
    });
    it(`${vector.name}: our server's decoder reads Bonito's bytes`, () => {
      assert.deepEqual(decodeClientFrame(fromHex(vector.hex), vector.compression), build(vector.decoded ?? vector.message));
    });
  }
});

describe("our Session writes Julia's frames", () => {
  for (const compression of [false, true]) {
    it(`UpdateObservable, FusedMessage and PingPong frames are byte-identical (compression ${compression ? "on" : "off"})`, async () => {
      const connection = new MemoryConnection();
      const session = new Session(connection, { id: golden.rootSessionId, compression });
      await connection.attach(session, undefined as never);
      const count = session.observable(5, "12");
      session.takeInitialMessages();
      connection.connect();
      await connection.receive({ msg_type: "8", session: session.id, message: "", exception: "nothing", stacktrace: "" }, compression);
      await count.set(5);
      await connection.receive({ msg_type: "11" }, compression);
      const expected = compression ? ["update-observable-int-gzip"] : ["update-observable-int", "ping-pong"];
      const written = connection.written.map(hex);
      for (const name of expected) {
        const v = golden.vectors.find((x) => x.name === name && x.direction === "server-to-frontend")!;
        assert.ok(written.includes(v.hex), `${name} not among the frames the session wrote`);
      }
    });
  }
});

describe("our runtime reads Julia's frames", () => {
  const vector = (name: string) => golden.vectors.find((v) => v.name === name && v.direction === "server-to-frontend")!;

  /**
   * A runtime connected to a recorder. Julia's code logs with console.log; here those
   * callbacks record into `logged` instead, and everything else runs as Bonito runs it.
   */
  function runtime(compression: boolean) {
    const sent: BonitoMessage[] = [];
    const ran: string[] = [];
    const logged: unknown[] = [];
    const bonito = new BonitoRuntime({
      pingIntervalMs: 1 << 30,
      evaluate: (code, rt) => {
        ran.push(code.source);
        const source = code.source.replaceAll("console.log(", "__log(");
        const lookup = (key: string) => (code.interpolated as Record<string, unknown>)[key];
        return new Function("__lookup_interpolated", "Bonito", "__log", source)(lookup, rt, (v: unknown) => logged.push(v));
      },
    });
    bonito.on_connection_open((bytes) => sent.push(decodeClientFrame(bytes, compression)), compression, false);
    const deliver = (name: string) => bonito.lock_loading(() => bonito.process_message(bonito.decode_binary(fromHex(vector(name).hex), compression)));
    return { bonito, sent, ran, logged, deliver };
  }

  for (const compression of [false, true]) {
    it(`init_session takes Julia's array of init messages (compression ${compression ? "on" : "off"})`, async () => {
      const { bonito, sent, ran, logged } = runtime(compression);
      const init = vector(compression ? "init-messages-gzip" : "init-messages");
      const bytes = fromHex(init.hex);
      // As Bonito's page passes it: a promise of the fetched ArrayBuffer.
      await bonito.init_session(golden.rootSessionId, Promise.resolve(bytes.buffer as ArrayBuffer), "root", compression);
      assert.equal(bonito.observable("12").value, 5, "the init cache registered observable 12");
      assert.equal(ran.length, 1);
      assert.deepEqual(sent.map((m) => [m.msg_type, m.session, m.exception]), [["8", golden.rootSessionId, "nothing"]]);
      // The init code subscribed to observable 12.
      bonito.observable("12").notify(9, true);
      assert.deepEqual(logged, [9]);
    });
  }

  it("init_session still takes a single message, base64 or bytes (the layout this library sent before)", async () => {
    for (const asBase64 of [false, true]) {
      const { bonito, sent } = runtime(false);
      const frame = encodeServerFrame(golden.rootSessionId, { msg_type: "9", payload: [] }, false, { cache: [new ObservableRef("old", 1)] });
      await bonito.init_session(golden.rootSessionId, asBase64 ? Buffer.from(frame).toString("base64") : frame, "root", false);
      assert.equal(bonito.observable("old").value, 1);
      assert.deepEqual(sent.map((m) => [m.msg_type, m.exception]), [["8", "nothing"]]);
    }
  });

  it("a broken initial frame is reported in JSDoneLoading, as Bonito reports it", async () => {
    const { bonito, sent } = runtime(false);
    await bonito.init_session(golden.rootSessionId, Uint8Array.of(0xc1), "root", false);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.msg_type, "8");
    assert.match(String(sent[0]!.exception), /ProtocolError/);
  });

  it("runs OnjsCallback, UpdateObservable and EvalJavascript with observables from session caches", async () => {
    const { bonito, sent, logged, deliver } = runtime(false);
    await bonito.init_session(golden.rootSessionId, null, "root", false);
    await deliver("onjs-callback");
    await deliver("update-observable-int");
    assert.deepEqual(logged, [5], "the OnjsCallback callback saw the update");
    await deliver("eval-javascript-interpolating-an-observable");
    // notify(6) from Julia's code fires the callback and goes back to the server, as Bonito's Observable.notify does.
    assert.deepEqual(logged, [5, 6]);
    assert.deepEqual(sent.filter((m) => m.msg_type === "0").map((m) => [m.id, m.payload]), [["12", 6]]);
  });

  it("applies UpdateSession: runs the sub-session's messages, reports it loaded, and frees it on free_session", async () => {
    const { bonito, sent, ran, logged, deliver } = runtime(false);
    await bonito.init_session(golden.rootSessionId, fromHex(vector("init-messages").hex), "root", false);
    await deliver("update-session");
    assert.equal(ran.length, 2, "the sub-session's EvalJavascript ran");
    assert.deepEqual(sent.filter((m) => m.msg_type === "8").map((m) => m.session), [golden.rootSessionId, golden.subSessionId]);
    assert.deepEqual(bonito.closable_sessions(), [golden.subSessionId]);
    bonito.observable("12").notify(3, true);
    assert.deepEqual(logged, [3, 3], "root and sub-session callbacks both run");
    await deliver("free-session");
    await bonito.lock_loading(() => {});
    assert.deepEqual(bonito.closable_sessions(), []);
    assert.ok(bonito.lookup_global_object("12"), "observable 12 is still tracked by the root session");
    assert.deepEqual(sent.filter((m) => m.msg_type === "3"), [], "no error reported");
  });
});
