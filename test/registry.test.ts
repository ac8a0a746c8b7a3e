import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  FrontendConnection,
  registerConnection,
  unregisterConnection,
  registeredConnections,
  defaultConnection,
  forceConnection,
  NoConnectionError,
  WebSocketConnection,
  type ConnectionBootstrap,
} from "../src/index.js";

/** A connection that only carries a label: the registry never uses a transport. */
class Labelled extends FrontendConnection {
  readonly type = "labelled";
  constructor(readonly label: string) {
    super();
  }
  async write(): Promise<void> {}
  isOpen() {
    return false;
  }
  protected async prepare(): Promise<ConnectionBootstrap> {
    return { type: this.type };
  }
  protected async doClose(): Promise<void> {}
  setupConnection() {
    return null;
  }
}

const added: string[] = [];
function register(name: string, factory: () => FrontendConnection | null) {
  added.push(name);
  registerConnection(factory, { name });
}

afterEach(() => {
  for (const name of added.splice(0)) unregisterConnection(name);
  forceConnection(null);
});

test("the WebSocket connection is registered first, as the fallback", () => {
  assert.equal(registeredConnections()[0], "websocket");
  assert.ok(defaultConnection() instanceof WebSocketConnection);
});

test("the newest registration that answers wins", () => {
  register("a", () => new Labelled("a"));
  register("b", () => new Labelled("b"));
  assert.equal((defaultConnection() as Labelled).label, "b");
});

test("a factory returning null lets older registrations answer", () => {
  register("a", () => new Labelled("a"));
  let asked = 0;
  register("declines", () => {
    asked++;
    return null;
  });
  assert.equal((defaultConnection() as Labelled).label, "a");
  assert.equal(asked, 1);
});

test("registering an existing name replaces it in place, keeping its priority", () => {
  register("a", () => new Labelled("a1"));
  register("b", () => new Labelled("b"));
  register("a", () => new Labelled("a2"));
  const names = registeredConnections();
  assert.ok(names.indexOf("a") < names.indexOf("b"));
  assert.equal((defaultConnection() as Labelled).label, "b");
  unregisterConnection("b");
  assert.equal((defaultConnection() as Labelled).label, "a2");
});

test("forceConnection overrides the registry until reset with null", () => {
  register("a", () => new Labelled("a"));
  forceConnection(() => new Labelled("forced"));
  assert.equal((defaultConnection() as Labelled).label, "forced");
  forceConnection(null);
  assert.equal((defaultConnection() as Labelled).label, "a");
});

test("no factory answering is an error that says so", () => {
  assert.equal(unregisterConnection("websocket"), true);
  try {
    register("declines", () => null);
    assert.throws(() => defaultConnection(), (error: unknown) => {
      assert.ok(error instanceof NoConnectionError);
      assert.match((error as Error).message, /declines/);
      assert.match((error as Error).message, /returned null/);
      return true;
    });
    unregisterConnection("declines");
    added.length = 0;
    assert.throws(() => defaultConnection(), /no connection factory is registered/);
  } finally {
    registerConnection(() => new WebSocketConnection(), { name: "websocket" });
  }
});
