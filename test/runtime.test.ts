/**
 * BonitoRuntime (the page's `window.Bonito` and the Node frontend) on its own, fed frames
 * the server encoder produced and sending through a recording send function.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BonitoRuntime } from "../src/frontend/runtime.js";
import {
  JSCode,
  MessageType,
  ObservableRef,
  decodeClientFrame,
  encodeServerFrame,
  type BonitoMessage,
} from "../src/protocol/index.js";

const SESSION = "3f0e4a52-9d1c-4a57-8a35-0c5c1b1f2a77";

/** A send function that records decoded messages; `accept` decides whether the transport takes each frame. */
function recordingSend(accept: () => boolean = () => true) {
  const sent: BonitoMessage[] = [];
  const send = (bytes: Uint8Array) => {
    if (!accept()) return false;
    sent.push(decodeClientFrame(bytes, false));
    return true;
  };
  return { sent, send };
}

function serverFrame(message: BonitoMessage, cache: unknown[] = []): Uint8Array {
  return encodeServerFrame(SESSION, message, false, cache.length ? { cache } : {});
}

describe("BonitoRuntime", () => {
  it("init registers the initial observables silently and queues JSDoneLoading until the link opens", () => {
    const runtime = new BonitoRuntime();
    const init = serverFrame({ msg_type: MessageType.FusedMessage, payload: [] }, [new ObservableRef("count", 5)]);
    runtime.init_session(SESSION, init, "root", false);
    let fired = false;
    runtime.observable("count").on(() => (fired = true));
    assert.equal(runtime.observable("count").value, 5);
    const { sent, send } = recordingSend();
    runtime.on_connection_open(send, false, false);
    assert.equal(sent[0]?.msg_type, MessageType.JSDoneLoading);
    assert.equal(sent[0]?.session, SESSION);
    assert.equal(fired, false);
    runtime.dispose();
  });

  it("applies server updates to its mirrors and sends its own changes, without echoing", async () => {
    const runtime = new BonitoRuntime();
    runtime.init_session(SESSION, null);
    const { sent, send } = recordingSend();
    runtime.on_connection_open(send, false, false);
    const seen: unknown[] = [];
    runtime.observable("x").on((v) => seen.push(v));
    await runtime.lock_loading(() => runtime.process_message(runtime.decode_binary(serverFrame({ msg_type: MessageType.UpdateObservable, id: "x", payload: 1 }))));
    assert.deepEqual(seen, [1]);
    assert.equal(sent.filter((m) => m.msg_type === MessageType.UpdateObservable).length, 0, "no echo");
    await runtime.observable("x").set(2);
    assert.deepEqual(sent.at(-1), { msg_type: MessageType.UpdateObservable, id: "x", payload: 2 });
    runtime.dispose();
  });

  it("runs server JavaScript through the evaluate option, with the runtime as Bonito", async () => {
    const calls: Array<{ source: string; isRuntime: boolean }> = [];
    const runtime: BonitoRuntime = new BonitoRuntime({ evaluate: (code, bonito) => calls.push({ source: code.source, isRuntime: bonito === runtime }) });
    runtime.init_session(SESSION, null);
    runtime.process_message({ msg_type: MessageType.EvalJavascript, payload: new JSCode("hello()") });
    assert.deepEqual(calls, [{ source: "hello()", isRuntime: true }]);
    runtime.dispose();
  });

  it("the default evaluation runs the source with the interpolation lookup and Bonito in scope", () => {
    const runtime = new BonitoRuntime();
    runtime.init_session(SESSION, null);
    runtime.process_message({
      msg_type: MessageType.EvalJavascript,
      payload: new JSCode(`Bonito.observable("out").receive(__lookup_interpolated("a") + 1)`, { a: 41 }),
    });
    assert.equal(runtime.observable("out").value, 42);
    runtime.dispose();
  });

  it("processes messages one at a time, in order, under lock_loading", async () => {
    const runtime = new BonitoRuntime();
    const order: string[] = [];
    const slow = runtime.lock_loading(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      order.push("first");
    });
    const fast = runtime.lock_loading(() => order.push("second"));
    await Promise.all([slow, fast]);
    assert.deepEqual(order, ["first", "second"]);
    runtime.dispose();
  });

  it("keeps a message the transport refused and sends it on the next open, in order", () => {
    const runtime = new BonitoRuntime();
    runtime.init_session(SESSION, null);
    let accepting = false;
    const { sent, send } = recordingSend(() => accepting);
    runtime.on_connection_open(send, false, false);
    assert.equal(runtime.connection_status(), "connecting", "a refused send means the link is down");
    runtime.observable("x").set(1).catch(() => {});
    accepting = true;
    runtime.on_connection_open(send, false, false);
    assert.deepEqual(
      sent.map((m) => m.msg_type),
      [MessageType.JSDoneLoading, MessageType.UpdateObservable],
    );
    runtime.dispose();
  });

  it("reports a message it cannot process to the server and to on_error listeners", async () => {
    const runtime = new BonitoRuntime({ evaluate: () => { throw new Error("page code failed"); } });
    runtime.init_session(SESSION, null);
    const { sent, send } = recordingSend();
    runtime.on_connection_open(send, false, false);
    const errors: Error[] = [];
    runtime.on_error((error) => errors.push(error));
    runtime.process_message({ msg_type: MessageType.EvalJavascript, payload: new JSCode("x") });
    assert.equal(errors[0]?.message, "page code failed");
    const report = sent.find((m) => m.msg_type === MessageType.JavascriptError);
    assert.match(String(report?.exception), /page code failed/);
    runtime.dispose();
  });

  it("a frame that is not a server frame is reported, not thrown", async () => {
    const runtime = new BonitoRuntime();
    runtime.init_session(SESSION, null);
    const { sent, send } = recordingSend();
    runtime.on_connection_open(send, false, false);
    await runtime.lock_loading(() => runtime.process_message(runtime.decode_binary(Uint8Array.of(0xc1))));
    assert.ok(sent.some((m) => m.msg_type === MessageType.JavascriptError));
    runtime.dispose();
  });

  it("status: connecting → open (on the server's first frame) → connecting → closed, each reported once", async () => {
    const runtime = new BonitoRuntime();
    const statuses: string[] = [];
    runtime.on_status_change((s) => statuses.push(s));
    runtime.init_session(SESSION, null);
    const { send } = recordingSend();
    runtime.on_connection_open(send, false, false);
    assert.deepEqual(statuses, [], "the transport is open, the session not yet ready");
    await runtime.lock_loading(() => runtime.process_message(runtime.decode_binary(serverFrame({ msg_type: MessageType.FusedMessage, payload: [] }))));
    runtime.on_connection_connecting();
    runtime.on_connection_close();
    runtime.on_connection_close();
    assert.deepEqual(statuses, ["open", "connecting", "closed"]);
  });
});
