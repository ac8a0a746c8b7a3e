/** A frontend's connection status: its transitions, listeners and waiters. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConnectionState, type ConnectionStatus } from "../src/frontend/connection-state.js";

describe("ConnectionState", () => {
  it("starts connecting; tells listeners each change once, with the reason for closed", () => {
    const state = new ConnectionState();
    const seen: Array<[ConnectionStatus, string | undefined]> = [];
    state.onChange((status, reason) => seen.push([status, reason]));
    assert.equal(state.status, "connecting");
    state.set("open");
    state.set("open");
    state.set("connecting");
    state.set("open");
    state.set("closed", "server went away");
    assert.deepEqual(seen, [
      ["open", undefined],
      ["connecting", undefined],
      ["open", undefined],
      ["closed", "server went away"],
    ]);
    assert.equal(state.closeReason, "server went away");
  });

  it("closed is for good: later changes are ignored and the first reason stays", () => {
    const state = new ConnectionState();
    state.set("closed", "first");
    state.set("open");
    state.set("closed", "second");
    assert.equal(state.status, "closed");
    assert.equal(state.closeReason, "first");
  });

  it("waiters resolve on open, and reject with the reason on close", async () => {
    const opened = new ConnectionState();
    const waiting = opened.whenOpen();
    opened.set("connecting");
    opened.set("open");
    await waiting;
    await opened.whenOpen();

    const closed = new ConnectionState();
    const never = closed.whenOpen();
    closed.set("closed", "refused");
    await assert.rejects(never, /connection closed: refused/);
    await assert.rejects(closed.whenOpen(), /connection closed: refused/);
  });

  it("an unsubscribed listener hears nothing more", () => {
    const state = new ConnectionState();
    const seen: ConnectionStatus[] = [];
    const stop = state.onChange((status) => seen.push(status));
    state.set("open");
    stop();
    state.set("closed", "done");
    assert.deepEqual(seen, ["open"]);
  });
});
