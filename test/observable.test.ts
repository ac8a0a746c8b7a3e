/** Observable: local listeners, what goes to the other side, and what does not. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Observable } from "../src/core/observable.js";

function recorded<T>(initial: T) {
  const sent: Array<[string, unknown]> = [];
  const observable = new Observable<T>("x", initial, async (id, value) => {
    sent.push([id, value]);
  });
  return { observable, sent };
}

describe("Observable", () => {
  it("set() updates the value, notifies listeners and sends the change once", async () => {
    const { observable, sent } = recorded(1);
    const seen: number[] = [];
    observable.on((v) => seen.push(v));
    await observable.set(2);
    assert.equal(observable.value, 2);
    assert.deepEqual(seen, [2]);
    assert.deepEqual(sent, [["x", 2]]);
  });

  it("a value from the other side notifies listeners but is not sent back", () => {
    const { observable, sent } = recorded("a");
    const seen: string[] = [];
    observable.on((v) => seen.push(v));
    observable.receive("b");
    assert.equal(observable.value, "b");
    assert.deepEqual(seen, ["b"]);
    assert.deepEqual(sent, []);
  });

  it("registration takes a value without any listener firing", () => {
    const { observable, sent } = recorded(0);
    let fired = false;
    observable.on(() => (fired = true));
    observable.register(5);
    assert.equal(observable.value, 5);
    assert.equal(fired, false);
    assert.deepEqual(sent, []);
  });

  it("on() returns an unsubscribe, and listeners fire on later changes only", () => {
    const { observable } = recorded(0);
    const seen: number[] = [];
    const off = observable.on((v) => seen.push(v));
    observable.receive(1);
    off();
    observable.receive(2);
    assert.deepEqual(seen, [1]);
  });

  it("a throwing listener does not stop the others, and is reported to the logger", () => {
    const seen: number[] = [];
    const logged: string[] = [];
    const observable = new Observable<number>("x", 0, async () => {}, { error: (...args) => logged.push(args.join(" ")), warn() {} });
    observable.on(() => {
      throw new Error("listener bug");
    });
    observable.on((v) => seen.push(v));
    observable.receive(3);
    assert.deepEqual(seen, [3]);
    assert.equal(logged.length, 1);
    assert.match(logged[0]!, /listener of observable x threw/);
  });

  it("a listener added during notification waits for the next change", () => {
    const { observable } = recorded(0);
    const seen: string[] = [];
    observable.on(() => {
      observable.on((v) => seen.push(`late ${v}`));
    });
    observable.receive(1);
    assert.deepEqual(seen, []);
  });
});
