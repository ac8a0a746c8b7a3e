/**
 * What a session sends, until its transport takes it: order, the send-queue limit over
 * queued, compressing and in-flight bytes, and messages kept for a reconnect.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Outbox, type FrameSink, type OutgoingMessage } from "../src/session/outbox.js";
import { MessageType, gzip, type BonitoMessage } from "../src/protocol/index.js";

/** A sink whose writes wait until the test lets them through (a transport that does not read). */
class HeldSink implements FrameSink {
  readonly frames: Uint8Array[] = [];
  open = true;
  private waiting: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  write(frame: Uint8Array): Promise<void> {
    this.frames.push(frame);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  isOpen(): boolean {
    return this.open;
  }

  /** The transport takes every frame written so far. */
  takeAll(): void {
    for (const write of this.waiting.splice(0)) write.resolve();
  }

  /** The link drops under every write still waiting. */
  drop(): void {
    this.open = false;
    for (const write of this.waiting.splice(0)) write.reject(new Error("link dropped"));
  }
}

/** After every promise callback already due. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

const text = (source: string): BonitoMessage => ({ msg_type: MessageType.EvalJavascript, payload: source });

function outbox(sink: FrameSink, options: { compression?: boolean; maxSendQueueBytes?: number } = {}) {
  const overflows: Error[] = [];
  const batches: string[][] = [];
  let closed = false;
  const box = new Outbox({
    sessionId: "s",
    connection: sink,
    compression: options.compression ?? false,
    maxSendQueueBytes: options.maxSendQueueBytes ?? 1024 * 1024,
    encode: (messages: readonly OutgoingMessage[]) => {
      const sources = messages.map((m) => String((m as BonitoMessage).payload));
      batches.push(sources);
      return new TextEncoder().encode(sources.join("|"));
    },
    isClosed: () => closed,
    overflowed: (error) => {
      overflows.push(error);
      closed = true;
    },
  });
  return { box, overflows, batches, close: () => (closed = true) };
}

describe("Outbox", () => {
  it("writes at once when ready, queues otherwise, and flushes the queue as one frame", async () => {
    const sink = new HeldSink();
    const { box, batches } = outbox(sink);
    const queued = [box.send(text("a"), false), box.send(text("b"), false)];
    assert.equal(sink.frames.length, 0);
    assert.equal(box.flush(), true);
    assert.equal(box.flush(), false, "nothing left");
    const direct = box.send(text("c"), true);
    sink.takeAll();
    await Promise.all([...queued, direct]);
    assert.deepEqual(batches, [["a", "b"], ["c"]]);
  });

  it("a frontend that does not read: written, not taken, and queued bytes together pass the limit", async () => {
    const sink = new HeldSink();
    const { box, overflows } = outbox(sink, { maxSendQueueBytes: 100 });
    void box.send(text("x".repeat(60)), true);
    assert.equal(overflows.length, 0, "one frame alone may be large");
    const second = box.send(text("y".repeat(60)), true);
    assert.match(overflows[0]?.message ?? "", /the frontend is not reading: 120 bytes wait to be sent, above maxSendQueueBytes \(100 bytes\)/);
    await assert.rejects(second, /session s closed before the message was sent/);
  });

  it("messages whose write failed because the link dropped go back in order, before later ones", async () => {
    const sink = new HeldSink();
    const { box, batches } = outbox(sink);
    const first = box.send(text("1"), true);
    const second = box.send(text("2"), true);
    sink.drop();
    await nextTurn(); // the failed writes' handlers have run
    const third = box.send(text("3"), false);
    const kept = box.take();
    assert.deepEqual(kept.map((entry) => (entry.message as BonitoMessage).payload), ["1", "2", "3"]);
    for (const entry of kept) entry.resolve();
    await Promise.all([first, second, third]);
    assert.deepEqual(batches, [["1"], ["2"]]);
  });

  it("compressed: a large frame compressed in slices goes before the small frames written after it", async () => {
    const sink = new HeldSink();
    const { box } = outbox(sink, { compression: true, maxSendQueueBytes: 64 * 1024 * 1024 });
    const large = "L".repeat(1024 * 1024);
    const sent = [box.send(text(large), true), box.send(text("small"), true)];
    while (sink.frames.length < 2) await nextTurn();
    sink.takeAll();
    await Promise.all(sent);
    assert.deepEqual(sink.frames, [gzip(new TextEncoder().encode(large)), gzip(new TextEncoder().encode("small"))]);
  });
});
