/**
 * Session and the FrontendConnection contract, over an in-memory connection: queueing until
 * the frontend is ready, the handshake, dispatch, and every way a session ends.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Session } from "../src/session/session.js";
import { JSCode, MessageType, ObservableRef, type BonitoMessage } from "../src/protocol/index.js";
import type { ConnectionHost } from "../src/session/connection.js";
import { MemoryConnection } from "./helpers/memory-connection.js";

/** Frames above this size are compressed in slices (the session's own threshold). */
const COMPRESSED_IN_SLICES_ABOVE = 256 * 1024;

const DONE_LOADING = (session: Session): BonitoMessage => ({
  msg_type: MessageType.JSDoneLoading,
  session: session.id,
  message: "",
  exception: "nothing",
  stacktrace: "",
});

/** A logger that keeps what it is given. */
function recordingLogger() {
  const errors: string[] = [];
  const warnings: string[] = [];
  return {
    errors,
    warnings,
    logger: { error: (...args: unknown[]) => errors.push(args.join(" ")), warn: (...args: unknown[]) => warnings.push(args.join(" ")) },
  };
}

async function attached(options: { compression?: boolean } = {}) {
  const connection = new MemoryConnection();
  const log = recordingLogger();
  const session = new Session(connection, { ...options, logger: log.logger });
  await connection.attach(session, {} as ConnectionHost);
  return { connection, session, log };
}

describe("Session", () => {
  it("queues until the frontend has loaded and the link is open, then sends one FusedMessage", async () => {
    const { connection, session } = await attached();
    const sent = [session.evaljs("a()"), session.evaljs("b()")];
    connection.connect();
    assert.equal(connection.written.length, 0, "the frontend has not loaded yet");
    await connection.receive(DONE_LOADING(session));
    await Promise.all(sent);
    assert.equal(session.status, "open");
    const [frame] = connection.decoded();
    assert.equal(connection.written.length, 1);
    assert.equal(frame!.message.msg_type, MessageType.FusedMessage);
    assert.deepEqual(
      (frame!.message.payload as BonitoMessage[]).map((m) => (m.payload as { source: string }).source),
      ["a()", "b()"],
    );
  });

  it("becoming ready always sends a frame: an empty FusedMessage when nothing was queued", async () => {
    const { connection, session } = await attached();
    connection.connect();
    assert.equal(connection.written.length, 0);
    await connection.receive(DONE_LOADING(session));
    const frames = connection.decoded();
    assert.equal(frames.length, 1, "the frontend takes this frame as the sign that the session is ready");
    assert.deepEqual(frames[0]!.message, { msg_type: MessageType.FusedMessage, payload: [] });
  });

  it("once ready, sends each message as its own frame, in order", async () => {
    const { connection, session } = await attached();
    connection.connect();
    await connection.receive(DONE_LOADING(session));
    await session.evaljs("one()");
    await session.evaljs("two()");
    assert.deepEqual(
      connection.decoded().slice(1).map((f) => (f.message.payload as { source: string }).source),
      ["one()", "two()"],
    );
  });

  it("announces a new observable in the frame's session cache, without firing listeners", async () => {
    const { connection, session } = await attached();
    connection.connect();
    await connection.receive(DONE_LOADING(session));
    let fired = 0;
    const count = session.observable(5, "count");
    count.on(() => fired++);
    await session.evaljs("x()");
    const caches = connection.decoded().flatMap((f) => f.caches.flatMap((c) => c.objects));
    const announced = caches.find((o) => o instanceof ObservableRef && o.id === "count") as ObservableRef | undefined;
    assert.equal(announced?.value, 5);
    assert.equal(fired, 0);
  });

  it("applies the frontend's updates and never echoes them back", async () => {
    const { connection, session } = await attached();
    connection.connect();
    await connection.receive(DONE_LOADING(session));
    const count = session.observable(0, "count");
    const seen: unknown[] = [];
    count.on((v) => seen.push(v));
    const before = connection.written.length;
    await connection.receive({ msg_type: MessageType.UpdateObservable, id: "count", payload: 7 });
    assert.equal(count.value, 7);
    assert.deepEqual(seen, [7]);
    assert.equal(connection.written.length, before, "nothing sent back");
  });

  it("answers a ping with a ping", async () => {
    const { connection, session } = await attached();
    connection.connect();
    await connection.receive(DONE_LOADING(session));
    await connection.receive({ msg_type: MessageType.PingPong });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(connection.decoded().at(-1)!.message.msg_type, MessageType.PingPong);
  });

  it("reports the frontend's errors and warnings to listeners", async () => {
    const { connection, session } = await attached();
    const reports: unknown[] = [];
    session.onFrontendReport((report) => reports.push(report));
    await connection.receive({ msg_type: MessageType.JavascriptWarning, message: "careful" });
    await connection.receive({ msg_type: MessageType.JavascriptError, message: "boom", exception: "Error: boom", stacktrace: "at x" });
    assert.deepEqual(reports, [
      { kind: "warning", message: "careful" },
      { kind: "error", message: "boom", exception: "Error: boom", stacktrace: "at x" },
    ]);
  });

  it("a malformed frame closes this session with an error naming it, and logs it once", async () => {
    const { connection, session, log } = await attached();
    await connection.receiveBytes(Uint8Array.of(0xc1));
    const info = await session.closed;
    assert.match(info.reason, /^bad frame from the frontend: /);
    assert.equal(info.error?.name, "ProtocolError");
    assert.equal(log.errors.length, 1);
    assert.equal(connection.doCloseCalls, 1);
  });

  it("a message type only the server sends closes the session", async () => {
    const { connection, session } = await attached();
    await connection.receive({ msg_type: MessageType.EvalJavascript, payload: new JSCode("x") });
    const info = await session.closed;
    assert.match(info.reason, /bad frame/);
  });

  it("CloseSession from the frontend ends the session", async () => {
    const { connection, session } = await attached();
    await connection.receive({ msg_type: MessageType.CloseSession, session: session.id, subsession: "" });
    assert.equal((await session.closed).reason, "closed by the frontend");
  });

  it("close() rejects what is still queued, ends once, and closes the connection once", async () => {
    const { connection, session } = await attached();
    const queued = session.evaljs("never()");
    await Promise.all([session.close("test over"), session.close("again"), connection.close("and again")]);
    await assert.rejects(queued, /closed before the message was sent: test over/);
    assert.equal((await session.closed).reason, "test over");
    assert.equal(session.status, "closed");
    assert.equal(connection.doCloseCalls, 1);
    await assert.rejects(session.evaljs("late()"), /is closed/);
  });

  it("a transport that ends by itself ends the session with its reason and error", async () => {
    const { connection, session } = await attached();
    const error = new Error("link failed");
    await connection.end("the link failed", error);
    const info = await session.closed;
    assert.equal(info.reason, "the link failed");
    assert.equal(info.error, error);
    assert.equal(connection.doCloseCalls, 1);
  });

  it("a frame delivered after the session closed is ignored", async () => {
    const { connection, session } = await attached();
    const seen: unknown[] = [];
    session.observable(0, "count").on((v) => seen.push(v));
    await session.close();
    await connection.receive({ msg_type: MessageType.UpdateObservable, id: "count", payload: 1 });
    assert.deepEqual(seen, []);
  });

  it("a write that fails because the link dropped keeps its messages, in order, for the reconnect", async () => {
    const { connection, session } = await attached();
    connection.connect();
    await connection.receive(DONE_LOADING(session));
    connection.failNextWrite = new Error("link broke");
    const first = session.evaljs("first()");
    const second = session.evaljs("second()");
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(connection.written.length, 1, "only the ready frame went out");
    connection.connect();
    await Promise.all([first, second]);
    const sources = connection.decoded().flatMap((f) =>
      f.message.msg_type === MessageType.FusedMessage ? (f.message.payload as BonitoMessage[]) : [f.message],
    );
    assert.deepEqual(sources.map((m) => (m.payload as { source: string }).source), ["first()", "second()"]);
  });

  it("a connection carries one session only", async () => {
    const { connection } = await attached();
    const other = new Session(connection);
    await assert.rejects(connection.attach(other, {} as ConnectionHost), /already carries session/);
  });

  it("compressed sessions send a large frame (compressed in slices) and the small ones after it in order", async () => {
    const { connection, session } = await attached({ compression: true });
    connection.connect();
    await connection.receive(DONE_LOADING(session), true);
    const large = "x".repeat(COMPRESSED_IN_SLICES_ABOVE + 1);
    const sent = [session.evaljs(`big("${large}")`), session.evaljs("after()"), session.evaljs("last()")];
    await Promise.all(sent);
    const sources = connection.decoded(true).slice(1).map((f) => (f.message.payload as { source: string }).source);
    assert.deepEqual(sources.map((s) => s.slice(0, 6)), ["big(\"x", "after(", "last()"]);
    assert.equal(sources[0]!.length, large.length + 7);
  });

  it("closing while a large frame is being compressed rejects it and what waits behind it", async () => {
    const { connection, session } = await attached({ compression: true });
    connection.connect();
    await connection.receive(DONE_LOADING(session), true);
    const big = session.evaljs(`big("${"x".repeat(COMPRESSED_IN_SLICES_ABOVE + 1)}")`);
    const after = session.evaljs("after()");
    await session.close("test ends it");
    await assert.rejects(big, /closed before the message was sent/);
    await assert.rejects(after, /closed before the message was sent/);
    assert.equal(connection.written.length, 1, "only the ready frame went out");
  });

  it("compressed sessions read zlib frames from the frontend", async () => {
    const { connection, session } = await attached({ compression: true });
    const count = session.observable(0, "count");
    await connection.receive({ msg_type: MessageType.UpdateObservable, id: "count", payload: 3 }, true);
    assert.equal(count.value, 3);
  });
});
