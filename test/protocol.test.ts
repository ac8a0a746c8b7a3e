/**
 * Bonito v5 wire protocol: message round trips in both directions, every extension, payload
 * sizes, compression across sides, the exact envelope bytes, and ProtocolError for every kind
 * of malformed input.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as msgpack from "@msgpack/msgpack";
import * as pako from "pako";
import {
  CacheKey,
  DomNode,
  ExtData,
  JSCode,
  MessageType,
  NdArray,
  ObservableRef,
  ProtocolError,
  RawHtml,
  SerializedMessage,
  SessionCache,
  TrackingOnly,
  compressionFormat,
  decodeClientFrame,
  decodeServerEnvelope,
  decodeServerFrame,
  encodeClientFrame,
  encodeServerFrame,
  gzip,
  inflate,
  pack,
  unpack,
  validateMessage,
  zlibDeflate,
  type BonitoMessage,
} from "../src/protocol/index.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const T = { timeout: 30_000 };

/** Deterministic PRNG (mulberry32), so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

/** Copies `bytes` to offset `shift` of a fresh buffer, so decoders see a misaligned frame. */
function shifted(bytes: Uint8Array, shift: number): Uint8Array {
  const buffer = new Uint8Array(bytes.byteLength + shift + 8);
  buffer.set(bytes, shift);
  return buffer.subarray(shift, shift + bytes.byteLength);
}

const SID = "0b3c7a2e-5d1f-4c8a-9e6b-2f4d8a1c3e5b";

/** Server → frontend and back through the real decoder, with and without compression. */
function serverRoundTrip(message: BonitoMessage, compression: boolean): BonitoMessage {
  return decodeServerFrame(encodeServerFrame(SID, message, compression), compression);
}

function clientRoundTrip(message: BonitoMessage, compression: boolean): BonitoMessage {
  return decodeClientFrame(encodeClientFrame(message, compression), compression);
}

/** Asserts that `run` throws a ProtocolError whose message matches `pattern`. */
function rejects(run: () => unknown, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected ProtocolError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

/** One valid example of every message type. */
const EXAMPLES: BonitoMessage[] = [
  { msg_type: MessageType.UpdateObservable, id: "obs-1", payload: 42 },
  {
    msg_type: MessageType.OnjsCallback,
    obs: new ObservableRef("obs-2", "x"),
    payload: new JSCode("return (v) => console.log(v)", {}, "app.jl:3"),
  },
  { msg_type: MessageType.EvalJavascript, payload: new JSCode("1 + 1") },
  { msg_type: MessageType.JavascriptError, message: "boom", exception: "Error: boom", stacktrace: "at f" },
  { msg_type: MessageType.JavascriptWarning, message: "careful" },
  { msg_type: MessageType.JSDoneLoading, session: SID, message: "", exception: "nothing", stacktrace: "" },
  {
    msg_type: MessageType.FusedMessage,
    payload: [
      { msg_type: MessageType.UpdateObservable, id: "a", payload: [1, 2] },
      { msg_type: MessageType.PingPong },
    ],
  },
  { msg_type: MessageType.CloseSession, session: SID, subsession: "root" },
  { msg_type: MessageType.PingPong },
  {
    msg_type: MessageType.UpdateSession,
    session_id: "sub-1",
    session_status: "sub",
    messages: [{ msg_type: MessageType.EvalJavascript, payload: new JSCode("x()") }],
    html: "<div></div>",
    replace: true,
    dom_node_selector: "#node",
  },
  { msg_type: MessageType.GetSessionDOM, session: "sub-1", replace: "node-uuid" },
];

/** Message types whose fields hold server-only extensions (JSCode, Observable). */
const SERVER_ONLY_TYPES: string[] = [MessageType.OnjsCallback, MessageType.EvalJavascript, MessageType.UpdateSession];

describe("message round trips", () => {
  it("covers every message type", T, () => {
    const codes = new Set(EXAMPLES.map((m) => m.msg_type));
    assert.deepEqual([...codes].sort(), Object.values(MessageType).sort());
  });

  for (const compression of [false, true]) {
    it(`every type, server → frontend, compression ${compression ? "on" : "off"}`, T, () => {
      for (const message of EXAMPLES) assert.deepEqual(serverRoundTrip(message, compression), message);
    });
    it(`every type, frontend → server, compression ${compression ? "on" : "off"}`, T, () => {
      for (const message of EXAMPLES) {
        // JSCode and observables travel only from the server: a frontend's frame carrying them is refused.
        if (SERVER_ONLY_TYPES.includes(message.msg_type)) {
          rejects(() => clientRoundTrip(message, compression), /is server-only/);
        } else assert.deepEqual(clientRoundTrip(message, compression), message);
      }
    });
  }

  it("msg_type travels as a string and frames decode with a plain msgpack reader", T, () => {
    const frame = encodeClientFrame({ msg_type: MessageType.PingPong }, false);
    assert.deepEqual(msgpack.decode(frame), { msg_type: "11" });
  });

  it("nested maps, arrays, strings, numbers, booleans and null", T, () => {
    const payload = {
      deep: { a: [1, -1, 0, 255, 256, 65536, -129, 2 ** 40, -(2 ** 40), 1.5, -0.25, Number.MAX_SAFE_INTEGER] },
      strings: ["", "ascii", "ünïcödé ✓ 🎉", "x".repeat(70_000)],
      flags: [true, false, null],
      nested: [[[[[]]]], {}, { "": { k: [null] } }],
      float: Math.PI,
    };
    for (const compression of [false, true]) {
      const message = { msg_type: MessageType.UpdateObservable, id: "n", payload };
      assert.deepEqual(serverRoundTrip(message, compression), message);
      assert.deepEqual(clientRoundTrip(message, compression), message);
    }
  });

  it("undefined travels as nil, as in Bonito's JS", T, () => {
    const back = clientRoundTrip({ msg_type: MessageType.UpdateObservable, id: "u", payload: undefined }, false);
    assert.equal(back.payload, null);
  });
});

describe("typed arrays", () => {
  const samples = () => [
    new Int8Array([-128, -1, 0, 1, 127]),
    new Uint8Array([0, 1, 128, 255]),
    new Int16Array([-32768, -1, 0, 32767]),
    new Uint16Array([0, 1, 65535]),
    new Int32Array([-(2 ** 31), -1, 0, 2 ** 31 - 1]),
    new Uint32Array([0, 1, 2 ** 32 - 1]),
    new Float32Array([0, -1.5, 3.25, Infinity, -Infinity]),
    new Float64Array([0, -1.5, Math.PI, Number.MAX_VALUE, Number.MIN_VALUE, -0]),
  ];

  it("each kind uses its Bonito extension code with raw little-endian bytes", T, () => {
    const codes = [0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18];
    samples().forEach((array, i) => {
      const ext = msgpack.decode(pack(array));
      assert.ok(ext instanceof ExtData);
      assert.equal(ext.type, codes[i]);
      assert.deepEqual(ext.data, new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
    });
  });

  for (const compression of [false, true]) {
    it(`each kind round-trips as the same kind, both ways, compression ${compression ? "on" : "off"}`, T, () => {
      for (const array of samples()) {
        for (const back of [
          serverRoundTrip({ msg_type: "0", id: "t", payload: array }, compression).payload,
          clientRoundTrip({ msg_type: "0", id: "t", payload: array }, compression).payload,
        ]) {
          assert.equal(Object.getPrototypeOf(back), Object.getPrototypeOf(array), array.constructor.name);
          assert.deepEqual(back, array);
        }
      }
    });
  }

  it("empty arrays of each kind", T, () => {
    for (const array of samples()) {
      const empty = new (array.constructor as new (n: number) => typeof array)(0);
      const back = serverRoundTrip({ msg_type: "0", id: "e", payload: empty }, false).payload;
      assert.equal(Object.getPrototypeOf(back), Object.getPrototypeOf(empty));
      assert.equal((back as typeof array).length, 0);
    }
  });

  it("decodes frames at every misaligned offset (copying only when needed)", T, () => {
    const payload = samples();
    const message = { msg_type: MessageType.UpdateObservable, id: "m", payload };
    const frames: [Uint8Array, (bytes: Uint8Array) => BonitoMessage][] = [
      [encodeServerFrame(SID, message, false), (bytes) => decodeServerFrame(bytes, false)],
      [encodeClientFrame(message, false), (bytes) => decodeClientFrame(bytes, false)],
    ];
    for (const [frame, decode] of frames) {
      for (let shift = 0; shift < 8; shift++) {
        const back = decode(shifted(frame, shift)).payload as ArrayLike<unknown>[];
        payload.forEach((array, i) => {
          assert.equal(Object.getPrototypeOf(back[i]), Object.getPrototypeOf(array));
          assert.deepEqual(back[i], array, `${array.constructor.name} at shift ${shift}`);
        });
      }
    }
  });

  it("sends only the bytes of a view, not its whole buffer", T, () => {
    const buffer = new ArrayBuffer(64);
    new Uint8Array(buffer).forEach((_, i, a) => (a[i] = i));
    const views = [new Uint8Array(buffer, 3, 5), new Int16Array(buffer, 6, 3), new Float64Array(buffer, 16, 2)];
    for (const view of views) {
      const back = clientRoundTrip({ msg_type: "0", id: "v", payload: view }, false).payload;
      assert.deepEqual(back, view.slice());
    }
  });

  it("a Buffer goes out as ext 0x12 and every decoded byte array is a plain Uint8Array", T, () => {
    const buf = Buffer.from([1, 2, 3]);
    const frame = Buffer.from(encodeServerFrame(SID, { msg_type: "0", id: "b", payload: buf }, false));
    const back = decodeServerFrame(frame, false).payload;
    assert.equal(Object.getPrototypeOf(back), Uint8Array.prototype);
    assert.deepEqual(back, new Uint8Array([1, 2, 3]));
    // msgpack `bin` (what a generic msgpack writer produces) also decodes to a plain Uint8Array.
    const bin = Buffer.from(msgpack.encode({ msg_type: "0", id: "b", payload: new Uint8Array([9]) }));
    assert.equal(bin.includes(0xc4), true, "the generic writer used bin");
    const fromBin = decodeClientFrame(bin, false).payload;
    assert.equal(Object.getPrototypeOf(fromBin), Uint8Array.prototype);
    assert.deepEqual(fromBin, new Uint8Array([9]));
  });

  it("a large array in a server frame lands 8-byte aligned and decodes without a copy", T, () => {
    for (const id of ["", "a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg"]) {
      for (const sessionId of ["s", SID, "z".repeat(300)]) {
        const big = new Float64Array(20_000).map((_, i) => i / 3);
        const frame = encodeServerFrame(sessionId, { msg_type: "0", id, payload: { big } }, false);
        const back = (decodeServerFrame(frame, false).payload as { big: Float64Array }).big;
        assert.equal(back.buffer, frame.buffer, "zero-copy view of the frame");
        assert.deepEqual(back, big);
      }
    }
  });
});

describe("payload sizes", () => {
  for (const size of [0, 1, 64 * KiB, 8 * MiB]) {
    for (const compression of [false, true]) {
      it(`${size} bytes, compression ${compression ? "on" : "off"}`, T, () => {
        const random = prng(size + 1);
        const bytes = new Uint8Array(size).map(() => (random() * 256) | 0);
        const floats = new Float64Array(Math.floor(size / 8)).map(() => random());
        for (const payload of [bytes, floats]) {
          const message = { msg_type: MessageType.UpdateObservable, id: "big", payload };
          const server = decodeServerFrame(encodeServerFrame(SID, message, compression), compression);
          assert.equal(Object.getPrototypeOf(server.payload), Object.getPrototypeOf(payload));
          assert.ok(Buffer.from((server.payload as Uint8Array).buffer, (server.payload as Uint8Array).byteOffset, payload.byteLength).equals(
            Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
          ));
          const client = decodeClientFrame(encodeClientFrame(message, compression), compression);
          assert.deepEqual(client, message);
        }
      });
    }
  }

  it("a 32 MiB Float64Array encodes into one frame and decodes without a copy", { timeout: 60_000 }, (t) => {
    const big = new Float64Array((32 * MiB) / 8);
    for (let i = 0; i < big.length; i += 4096) big[i] = i;
    const start = performance.now();
    const frame = encodeServerFrame(SID, { msg_type: "0", id: "huge", payload: big }, false);
    const back = decodeServerFrame(frame, false).payload as Float64Array;
    const elapsed = performance.now() - start;
    assert.equal(back.buffer, frame.buffer, "decoded without a copy");
    assert.equal(back[4096], 4096);
    assert.ok(frame.byteLength - big.byteLength < 256, "one frame, a few header bytes");
    // Speed is the benchmark's business; the time is reported, not asserted.
    t.diagnostic(`encode + decode took ${elapsed.toFixed(0)} ms`);
  });
});

describe("extensions", () => {
  it("JSCode (102) keeps source, interpolated objects and file", T, () => {
    const code = new JSCode("return __lookup_interpolated('7')", { "7": new ObservableRef("o", [1]), k: new Float32Array([2]) }, "f.jl:9");
    const back = serverRoundTrip({ msg_type: MessageType.EvalJavascript, payload: code }, false).payload;
    assert.ok(back instanceof JSCode);
    assert.deepEqual(back, code);
    // Layout: ext 102 of msgpack [interpolated, source, file].
    const ext = msgpack.decode(pack(new JSCode("s", {}, "f"))) as ExtData;
    assert.equal(ext.type, 102);
    assert.deepEqual(msgpack.decode(ext.data as Uint8Array), [{}, "s", "f"]);
    // An array of interpolated objects works too (numeric ids).
    assert.deepEqual(unpack(pack(new JSCode("s", [1, "two"]))), new JSCode("s", [1, "two"]));
  });

  it("ObservableRef (101) is msgpack [id, value]", T, () => {
    const ref = new ObservableRef("obs-9", { x: new Int32Array([1, 2]), y: "z" });
    assert.deepEqual(unpack(pack(ref)), ref);
    const ext = msgpack.decode(pack(new ObservableRef("i", 5))) as ExtData;
    assert.equal(ext.type, 101);
    assert.deepEqual(msgpack.decode(ext.data as Uint8Array), ["i", 5]);
  });

  it("N-d array (99) is [UInt32 dims, flat elements], as Julia writes a Matrix", T, () => {
    const matrix = new NdArray([2, 3], new Float32Array([1, 2, 3, 4, 5, 6]));
    const back = unpack(pack(matrix));
    assert.ok(back instanceof NdArray);
    assert.deepEqual(back, matrix);
    const ext = msgpack.decode(pack(matrix)) as ExtData;
    assert.equal(ext.type, 99);
    const [dims, flat] = msgpack.decode(ext.data as Uint8Array) as ExtData[];
    assert.equal(dims!.type, 0x16);
    assert.equal(flat!.type, 0x17);
    rejects(() => pack(new NdArray([4], new Float32Array(3))), /dims \[4\] hold 4 elements but 3/);
  });

  it("CacheKey (104) is a msgpack string", T, () => {
    assert.deepEqual(unpack(pack(new CacheKey("k1"))), new CacheKey("k1"));
  });

  it("unknown extensions pass through as ExtData", T, () => {
    const unknown = new ExtData(110, msgpack.encode(["div", [], {}]));
    const back = serverRoundTrip({ msg_type: "0", id: "d", payload: unknown }, false).payload;
    assert.ok(back instanceof ExtData);
    assert.equal(back.type, 110);
  });

  it("DOM nodes (105), raw HTML (108) and tracking-only references (109) round-trip", T, () => {
    const payload = [new DomNode("svg", [new DomNode("circle", [], { r: 2, juliasvgnode: true }), "text"], { juliasvgnode: true }), new RawHtml("<b>x</b>"), new TrackingOnly("12")];
    assert.deepEqual(serverRoundTrip({ msg_type: "0", id: "d", payload }, false).payload, payload);
  });

  it("server frames keep the sign of -0, as Julia writes a Float64 -0.0; frontend frames write 0, as Bonito's JS does", T, () => {
    const payload = [-0, { x: -0 }, new ObservableRef("o", -0)];
    const back = serverRoundTrip({ msg_type: "0", id: "z", payload }, false).payload as unknown[];
    assert.ok(Object.is(back[0], -0) && Object.is((back[1] as { x: number }).x, -0) && Object.is((back[2] as ObservableRef).value, -0));
    const fromFrontend = decodeClientFrame(encodeClientFrame({ msg_type: "0", id: "z", payload: -0 }, false), false);
    assert.ok(Object.is(fromFrontend.payload, 0));
  });

  it("a Uint8ClampedArray is written as msgpack bin, as Bonito's JS writes it, and read as a Uint8Array", T, () => {
    const frame = encodeClientFrame({ msg_type: "0", id: "c", payload: new Uint8ClampedArray([0, 128, 255]) }, false);
    assert.match(hex(frame), /c4030080ff$/);
    assert.deepEqual(decodeClientFrame(frame, false).payload, new Uint8Array([0, 128, 255]));
  });

  it("the session cache carries objects and reports them, nested envelopes included", T, () => {
    const inner = new SerializedMessage(new SessionCache("sub-7", "sub", [new ObservableRef("n1", 1)]), {
      msg_type: MessageType.UpdateObservable,
      id: "n1",
      payload: 2,
    });
    const frame = encodeServerFrame(
      SID,
      { msg_type: MessageType.FusedMessage, payload: [inner, { msg_type: MessageType.PingPong }] },
      false,
      { cache: [new ObservableRef("c1", "v")] },
    );
    const envelope = decodeServerEnvelope(frame, false);
    assert.equal(envelope.sessionId, SID);
    assert.equal(envelope.sessionType, "root");
    assert.deepEqual(
      envelope.caches.map((c) => [c.sessionId, c.sessionType, c.objects]),
      [
        [SID, "root", [new ObservableRef("c1", "v")]],
        ["sub-7", "sub", [new ObservableRef("n1", 1)]],
      ],
    );
    // The nested envelope decodes to its bare message, as in Bonito's JS.
    assert.deepEqual(envelope.message.payload, [{ msg_type: "0", id: "n1", payload: 2 }, { msg_type: "11" }]);
  });
});

describe("exact wire layout", () => {
  it("a server frame is ext 107 [id, type, ext18(ext106 [id, type, ext18([])]), ext18(message)]", T, () => {
    const frame = encodeServerFrame("s", { msg_type: MessageType.PingPong }, false);
    const expected = [
      ["c7 29 6b", "ext 8: 41 bytes of type 107 (SerializedMessage)"],
      ["94", "fixarray(4)"],
      ["a1 73", '"s"'],
      ["a4 72 6f 6f 74", '"root"'],
      ["c7 0e 12", "ext 8: 14 bytes of type 0x12 (bytes)"],
      ["c7 0b 6a", "  ext 8: 11 bytes of type 106 (SessionCache)"],
      ["93 a1 73 a4 72 6f 6f 74", '  fixarray(3) "s" "root"'],
      ["d4 12 90", "  fixext 1 of type 0x12: msgpack [] (no objects)"],
      ["c7 0d 12", "ext 8: 13 bytes of type 0x12 (bytes)"],
      ["81 a8 6d 73 67 5f 74 79 70 65 a2 31 31", '  {"msg_type": "11"}'],
    ];
    assert.equal(hex(frame), hex(fromHex(expected.map(([bytes]) => bytes).join(""))));
  });

  it("encodeServerFrame equals the codec's SerializedMessage encoding", T, () => {
    for (const message of EXAMPLES) {
      const viaCodec = pack(new SerializedMessage(new SessionCache(SID, "root", []), message));
      assert.equal(hex(encodeServerFrame(SID, message, false)), hex(viaCodec));
    }
  });

  it("frames reusing a session's memoised envelope decode like the first one, whatever was encoded in between", T, () => {
    // The empty-cache envelope is memoised per session; a miss packs it while the message
    // has not been packed yet (they share an encoder buffer). Mix misses and hits, small and
    // aligned (gathered) bodies, frames with cache entries, and a second session.
    const small = { msg_type: MessageType.UpdateObservable, id: "s", payload: new Uint8Array(64).fill(7) };
    const large = { msg_type: MessageType.UpdateObservable, id: "l", payload: new Float64Array(40_000).fill(1.5) };
    const other = "b".repeat(36);
    const sequence: Array<[string, BonitoMessage, ObservableRef[]]> = [
      [`fresh-${Date.now()}`, large, []],
      [SID, small, []],
      [SID, large, [new ObservableRef("o1", 3)]],
      [SID, large, []],
      [other, small, []],
      [SID, small, []],
      [other, large, []],
    ];
    for (const [sid, message, cache] of sequence) {
      const frame = encodeServerFrame(sid, message, false, { cache });
      const viaCodec = pack(new SerializedMessage(new SessionCache(sid, "root", cache), message));
      const decoded = decodeServerEnvelope(frame, false);
      assert.equal(decoded.sessionId, sid);
      assert.deepEqual(decoded.message, decodeServerEnvelope(viaCodec, false).message);
      if (message === small) assert.equal(hex(frame), hex(viaCodec), "small frames are byte-identical to the codec's");
    }
  });

  it("a client frame is msgpack of the plain map, byte for byte", T, () => {
    const message = { msg_type: MessageType.UpdateObservable, id: "x", payload: new Float64Array([1]) };
    assert.equal(hex(encodeClientFrame(message, false)), "83a86d73675f74797065a130a26964a178a77061796c6f6164d718000000000000f03f");
  });
});

describe("compression", () => {
  const message = { msg_type: MessageType.UpdateObservable, id: "c", payload: "hello ".repeat(1000) };

  it("the server sends gzip and the frontend sends zlib", T, () => {
    assert.equal(compressionFormat(encodeServerFrame(SID, message, true)), "gzip");
    assert.equal(compressionFormat(encodeClientFrame(message, true)), "zlib");
  });

  it("pako.inflate autodetects both formats, as Bonito's JS relies on", T, () => {
    const raw = pack(message);
    assert.deepEqual(pako.inflate(gzip(raw)), raw);
    assert.deepEqual(pako.inflate(zlibDeflate(raw)), raw);
    assert.deepEqual(inflate(pako.gzip(raw)), raw);
    assert.deepEqual(inflate(pako.deflate(raw)), raw);
  });

  it("either decoder accepts either format", T, () => {
    const raw = pack(message);
    // A frontend frame compressed with gzip, and a server frame compressed with zlib.
    assert.deepEqual(decodeClientFrame(pako.gzip(raw), true), message);
    const serverRaw = encodeServerFrame(SID, message, false);
    assert.deepEqual(decodeServerFrame(pako.deflate(serverRaw), true), message);
    assert.deepEqual(decodeServerFrame(pako.gzip(serverRaw), true), message);
  });

  it("concatenated gzip members are one stream (RFC 1952)", T, () => {
    const raw = pack(message);
    const joined = new Uint8Array([...pako.gzip(raw.subarray(0, 100)), ...pako.gzip(raw.subarray(100))]);
    assert.deepEqual(decodeClientFrame(joined, true), message);
  });

  it("compressed frames shrink compressible data", T, () => {
    assert.ok(encodeServerFrame(SID, message, true).byteLength < 200);
  });
});

describe("malformed input is a ProtocolError", () => {
  const both = (frame: Uint8Array, compression = false) => [
    () => decodeClientFrame(frame, compression),
    () => decodeServerFrame(frame, compression),
  ];

  it("empty, not bytes, not msgpack, truncated, trailing garbage", T, () => {
    for (const decode of both(new Uint8Array(0))) rejects(decode, /empty frame/);
    rejects(() => decodeClientFrame("hello" as unknown as Uint8Array, false), /must be a Uint8Array or ArrayBuffer, got a string/);
    rejects(() => decodeServerFrame(null as unknown as Uint8Array, false), /got null/);
    for (const decode of both(Uint8Array.of(0xc1))) rejects(decode, /Unrecognized type byte: 0xc1/);
    const client = encodeClientFrame(EXAMPLES[0]!, false);
    const server = encodeServerFrame(SID, EXAMPLES[0]!, false);
    rejects(() => decodeClientFrame(client.subarray(0, client.byteLength - 1), false), /truncated/);
    rejects(() => decodeServerFrame(server.subarray(0, server.byteLength - 1), false), /truncated/);
    rejects(() => decodeClientFrame(Uint8Array.of(...client, 0), false), /1 byte\(s\) of trailing garbage/);
    rejects(() => decodeServerFrame(Uint8Array.of(...server, 1, 2), false), /2 byte\(s\) of trailing garbage/);
  });

  it("an ArrayBuffer frame is accepted", T, () => {
    const frame = encodeClientFrame(EXAMPLES[0]!, false);
    assert.deepEqual(decodeClientFrame(frame.slice().buffer, false), EXAMPLES[0]);
  });

  it("not a map, missing or bad msg_type", T, () => {
    rejects(() => decodeClientFrame(msgpack.encode([1, 2]), false), /message must be a map, got an array/);
    rejects(() => decodeClientFrame(msgpack.encode("0"), false), /message must be a map, got a string/);
    rejects(() => decodeClientFrame(msgpack.encode(null), false), /message must be a map, got null/);
    rejects(() => decodeClientFrame(msgpack.encode({ id: "x" }), false), /message has no msg_type/);
    rejects(() => decodeClientFrame(msgpack.encode({ msg_type: 0 }), false), /msg_type must be a string code, got a number \(0\)/);
    rejects(() => decodeClientFrame(msgpack.encode({ msg_type: "5" }), false), /msg_type "5" is not a known message type/);
    rejects(() => decodeClientFrame(msgpack.encode({ msg_type: "99" }), false), /"99" is not a known/);
    rejects(() => decodeClientFrame(Uint8Array.of(0x81, 0xc0, 0x01), false), /not valid msgpack: The type of key must be string or number/);
  });

  it("wrong or missing fields, per message type", T, () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ msg_type: "0", payload: 1 }, /message\.id is missing \(required by UpdateObservable\)/],
      [{ msg_type: "0", id: 7, payload: 1 }, /message\.id must be a string, got a number/],
      [{ msg_type: "0", id: "x" }, /message\.payload is missing/],
      [{ msg_type: "1", obs: null, payload: new JSCode("") }, /message\.obs must name an observable/],
      [{ msg_type: "1", obs: new ObservableRef("o", 1), payload: "code" }, /message\.payload must be JSCode \(extension 102\), got a string/],
      [{ msg_type: "2", payload: { source: "x" } }, /message\.payload must be JSCode/],
      [{ msg_type: "3", message: "m", exception: "e" }, /message\.stacktrace is missing/],
      [{ msg_type: "4", message: 3 }, /message\.message must be a string/],
      [{ msg_type: "8", session: SID, message: "", exception: null, stacktrace: "" }, /message\.exception must be a string, got null/],
      [{ msg_type: "8", message: "", exception: "nothing", stacktrace: "" }, /message\.session is missing \(required by JSDoneLoading\)/],
      [{ msg_type: "9", payload: {} }, /message\.payload must be an array of messages, got a map/],
      [{ msg_type: "9", payload: [{ msg_type: "11" }, { msg_type: "0", id: 1, payload: 0 }] }, /message\.payload\[1\]\.id must be a string/],
      [{ msg_type: "9", payload: ["x"] }, /message\.payload\[0\] must be a map/],
      [{ msg_type: "10", session: SID }, /message\.subsession is missing/],
      [{ msg_type: "12", session_id: "s", messages: [], html: "", replace: "yes", dom_node_selector: "#" }, /message\.replace must be a boolean/],
      [{ msg_type: "12", session_id: "s", messages: [{}], html: "", replace: true, dom_node_selector: "#" }, /message\.messages\[0\] has no msg_type/],
      [{ msg_type: "13", session: "s" }, /message\.replace is missing \(required by GetSessionDOM\)/],
    ];
    for (const [message, pattern] of cases) {
      // OnjsCallback carries JSCode and observables, which only a server may send.
      rejects(() => decodeClientFrame(pack(message), false), message.msg_type === "1" ? /is server-only/ : pattern);
      rejects(() => decodeServerFrame(encodeServerFrameUnchecked(message), false), pattern);
      // Encoding checks the same rules, so a bad message fails where it is made.
      rejects(() => encodeClientFrame(message as BonitoMessage, false), pattern);
      rejects(() => encodeServerFrame(SID, message as BonitoMessage, false), pattern);
    }
  });

  it("messages nested too deeply", T, () => {
    let message: Record<string, unknown> = { msg_type: "11" };
    for (let i = 0; i < 40; i++) message = { msg_type: "9", payload: [message] };
    rejects(() => validateMessage(message), /nested deeper than 32 levels/);
    // Each message level is two msgpack levels (map, array): the frame's depth limit comes first.
    rejects(() => decodeClientFrame(pack(message), false), /deeper than 64 levels \(limit maxFrameDepth\)/);
    rejects(() => decodeServerFrame(encodeServerFrameUnchecked(message), false), /nested deeper than 32 levels/);
  });

  it("bad compression", T, () => {
    const raw = pack(EXAMPLES[0]!);
    rejects(() => decodeClientFrame(raw, true), /compression is enabled but the frame is neither gzip nor zlib \(\d+ bytes, starting 83 a8\)/);
    rejects(() => decodeServerFrame(encodeServerFrame(SID, EXAMPLES[0]!, false), true), /neither gzip nor zlib/);
    const gz = gzip(raw);
    const corrupt = gz.slice();
    corrupt[corrupt.length - 6]! ^= 0xff; // inside the CRC32 trailer
    rejects(() => decodeClientFrame(corrupt, true), /gzip frame is corrupt or truncated: incorrect data check/);
    rejects(() => decodeClientFrame(gz.subarray(0, gz.byteLength - 3), true), /gzip frame is corrupt or truncated/);
    const z = zlibDeflate(raw);
    const scrambled = z.slice();
    for (let i = 2; i < scrambled.length; i++) scrambled[i] = 0xff;
    rejects(() => decodeClientFrame(scrambled, true), /zlib frame is corrupt/);
    rejects(() => decodeClientFrame(Uint8Array.of(...z, 1, 2, 3), true), /3 byte\(s\) of trailing garbage after the zlib stream/);
    rejects(() => decodeClientFrame(Uint8Array.of(0x1f), true), /neither gzip nor zlib/);
    // Compressed frames when compression is off: named as such.
    rejects(() => decodeClientFrame(z, false), /looks zlib-compressed, but compression is off/);
    rejects(() => decodeServerFrame(encodeServerFrame(SID, EXAMPLES[0]!, true), false), /looks gzip-compressed, but compression is off/);
  });

  it("a frame that inflates past the limit", T, () => {
    const bomb = zlibDeflate(pack({ msg_type: "0", id: "z", payload: new Uint8Array(4 * MiB) }));
    assert.ok(bomb.byteLength < 10 * KiB);
    rejects(() => decodeClientFrame(bomb, true, { maxFrameSize: MiB }), /zlib frame inflates past maxFrameSize \(1048576 bytes\)/);
    rejects(() => decodeServerFrame(gzip(encodeServerFrame(SID, { msg_type: "0", id: "z", payload: new Uint8Array(4 * MiB) }, false)), true, { maxFrameSize: MiB }), /gzip frame inflates past maxFrameSize/);
    assert.equal((decodeClientFrame(bomb, true).payload as Uint8Array).byteLength, 4 * MiB);
  });

  it("broken server envelopes", T, () => {
    const ext = (type: number, value: unknown) => msgpack.encode(new ExtData(type, msgpack.encode(value)));
    const cacheBytes = pack(new SessionCache(SID));
    const message = pack({ msg_type: "11" });
    rejects(() => decodeServerFrame(msgpack.encode({ msg_type: "11" }), false), /must be extension 107 \(SerializedMessage\), got a map/);
    rejects(() => decodeServerFrame(ext(106, []), false), /must be extension 107 .* got extension 106/);
    rejects(() => decodeServerFrame(ext(107, [SID, "root", cacheBytes]), false), /expected \[session_id, session_type, cache, message\], got 3 elements/);
    rejects(() => decodeServerFrame(ext(107, [SID, "boss", cacheBytes, message]), false), /session type must be "root" or "sub", got "boss"/);
    rejects(() => decodeServerFrame(ext(107, [1, "root", cacheBytes, message]), false), /session_id must be a string/);
    rejects(() => decodeServerFrame(ext(107, [SID, "root", "cache", message]), false), /cache must be bytes/);
    rejects(() => decodeServerFrame(ext(107, [SID, "root", pack([1]), message]), false), /cache must be extension 106/);
    rejects(() => decodeServerFrame(ext(107, ["other", "root", cacheBytes, message]), false), /envelope is for root session "other" but its cache is for root session/);
    rejects(() => decodeServerFrame(ext(107, [SID, "root", cacheBytes, Uint8Array.of(0xc1)]), false), /SerializedMessage\) message payload is not valid msgpack: Unrecognized type byte/);
    rejects(() => decodeServerFrame(ext(107, [SID, "root", pack(new ExtData(106, msgpack.encode([SID, "root", pack({})]))), message]), false), /objects must be an array/);
  });

  it("broken extension payloads", T, () => {
    const frameWith = (payload: Uint8Array) =>
      // {msg_type: "0", id: "x", payload: <raw>}, assembled by hand to carry invalid bytes.
      Uint8Array.of(...msgpack.encode({ msg_type: "0", id: "x", payload: null }).subarray(0, -1), ...payload);
    const raw = (type: number, data: Uint8Array) => msgpack.encode(new ExtData(type, data));
    const cases: [number, Uint8Array, RegExp][] = [
      [0x18, new Uint8Array(7), /extension 0x18 \(Float64Array\): 7 bytes is not a whole number of 8-byte elements/],
      [0x13, new Uint8Array(3), /extension 0x13 \(Int16Array\): 3 bytes/],
      [101, msgpack.encode([1, 2]), /extension 101 \(Observable\): id must be a string, got a number/],
      [101, msgpack.encode(["only"]), /extension 101 \(Observable\): expected \[id, value\], got 1 elements/],
      [101, Uint8Array.of(0x92, 0xa1), /extension 101 \(Observable\) payload is not valid msgpack: truncated/],
      [102, msgpack.encode([{}, "src"]), /extension 102 \(JSCode\): expected \[interpolated, source, file\]/],
      [102, msgpack.encode([{}, 1, "f"]), /extension 102 \(JSCode\): source must be a string/],
      [102, msgpack.encode(["x", "s", "f"]), /interpolated objects must be a map or an array/],
      [104, msgpack.encode(5), /extension 104 \(CacheKey\): key must be a string/],
      [99, pack([new Uint32Array([2, 2]), new Float64Array(3)]), /extension 99 \(N-d array\): dims \[2, 2\] hold 4 elements but 3/],
      [99, pack([new Uint32Array([2]), [1, 2]]), /elements must be a typed array/],
      [106, msgpack.encode([SID, "root"]), /extension 106 \(SessionCache\): expected/],
    ];
    for (const [type, data, pattern] of cases) {
      const frame = frameWith(raw(type, data));
      // A frontend may send typed arrays and N-d arrays; the other extensions are the server's.
      const serverOnly = [101, 102, 104, 106].includes(type);
      rejects(() => decodeClientFrame(frame, false), serverOnly ? /is server-only: a frontend may send only typed arrays/ : pattern);
      rejects(() => decodeServerFrame(encodeServerFrameRaw(frame), false), pattern);
    }
  });

  it("extensions nested too deeply", T, () => {
    let value: Uint8Array = msgpack.encode(1);
    for (let i = 0; i < 100; i++) value = msgpack.encode(new ExtData(101, Uint8Array.of(0x92, 0xa1, 0x6f, ...value)));
    const frame = Uint8Array.of(...msgpack.encode({ msg_type: "0", id: "x", payload: null }).subarray(0, -1), ...value);
    rejects(() => decodeServerFrame(encodeServerFrameRaw(frame), false), /extensions nested deeper than 64 levels/);
    rejects(() => decodeClientFrame(frame, false), /extension 101 \(Observable\) is server-only/);
  });

  it("values msgpack cannot carry are refused when encoding", T, () => {
    rejects(() => encodeClientFrame({ msg_type: "0", id: "f", payload: () => 1 }, false), /cannot encode value: Unrecognized object/);
    rejects(() => encodeServerFrame(SID, { msg_type: "0", id: "f", payload: new ObservableRef("o", Symbol("s")) }, false), /cannot encode observable "o"/);
    rejects(() => encodeServerFrame(SID, EXAMPLES[0]!, false, { sessionType: "main" as "sub" }), /session type must be "root" or "sub"/);
  });

  it("fuzz: random and mutated frames throw nothing but ProtocolError", T, () => {
    const random = prng(42);
    const valid = EXAMPLES.flatMap((m) => [encodeServerFrame(SID, m, false), encodeClientFrame(m, false), encodeServerFrame(SID, m, true), encodeClientFrame(m, true)]);
    const decoders = [
      (f: Uint8Array) => decodeServerFrame(f, false),
      (f: Uint8Array) => decodeServerFrame(f, true),
      (f: Uint8Array) => decodeClientFrame(f, false),
      (f: Uint8Array) => decodeClientFrame(f, true),
    ];
    let failures = 0;
    for (let round = 0; round < 4000; round++) {
      let frame: Uint8Array;
      if (round % 4 === 0) {
        frame = new Uint8Array(1 + Math.floor(random() * 64)).map(() => (random() * 256) | 0);
      } else {
        frame = valid[Math.floor(random() * valid.length)]!.slice();
        const edits = 1 + Math.floor(random() * 4);
        for (let e = 0; e < edits; e++) frame[Math.floor(random() * frame.length)] = (random() * 256) | 0;
        if (random() < 0.3) frame = frame.subarray(0, Math.floor(random() * frame.length));
      }
      for (const decode of decoders) {
        try {
          decode(frame);
        } catch (error) {
          failures++;
          if (!(error instanceof ProtocolError)) assert.fail(`round ${round}: ${String(error)} for ${hex(frame)}`);
        }
      }
    }
    assert.ok(failures > 1000);
  });
});

/** A server frame around a message, skipping the encoder's validation (to test the decoder's). */
function encodeServerFrameUnchecked(message: Record<string, unknown>): Uint8Array {
  return pack(new SerializedMessage(new SessionCache(SID), message));
}

/** A server frame around an already packed (possibly invalid) message. */
function encodeServerFrameRaw(packedMessage: Uint8Array): Uint8Array {
  return msgpack.encode(
    new ExtData(107, msgpack.encode([SID, "root", new ExtData(0x12, pack(new SessionCache(SID))), new ExtData(0x12, packedMessage)])),
  );
}

describe("base64 (page bootstrap)", () => {
  it("round-trips every length around its chunk size, byte-exact and equal to Node's encoder", async () => {
    const { toBase64, fromBase64 } = await import("../src/core/base64.js");
    for (const size of [0, 1, 2, 3, 32_765, 32_766, 32_767, 100_000]) {
      const bytes = Uint8Array.from({ length: size }, (_, i) => (i * 131 + 7) & 0xff);
      const text = toBase64(bytes);
      assert.equal(text, Buffer.from(bytes).toString("base64"), `size ${size}`);
      assert.deepEqual(fromBase64(text), bytes);
    }
  });
});
