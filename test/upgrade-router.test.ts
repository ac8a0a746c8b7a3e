/** The upgrade router against a real HTTP server and raw sockets: routed, refused, never left hanging. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { UpgradeRouter } from "../src/server/upgrade-router.js";

/** An HTTP server whose upgrades and requests all go through `router`. */
async function listen(router: UpgradeRouter): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    if (!router.handleRequest(request, response)) response.writeHead(418).end();
  });
  server.on("upgrade", (request, socket, head) => router.handleUpgrade(request, socket, head));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Sends a raw upgrade request for `path`; resolves with everything the server wrote before closing. */
function rawUpgrade(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
    });
    let text = "";
    socket.on("data", (chunk) => (text += chunk.toString()));
    socket.on("end", () => resolve(text));
    socket.on("error", reject);
  });
}

describe("UpgradeRouter", () => {
  it("hands an upgrade to the route of its path; an exact route wins over a prefix", async (t) => {
    const router = new UpgradeRouter();
    const { server, port } = await listen(router);
    t.after(() => stop(server));
    router.routeUpgrade("/ws/", (_request, socket) => socket.end("HTTP/1.1 200 prefix\r\n\r\n"));
    router.routeUpgrade("/ws/exact", (_request, socket) => socket.end("HTTP/1.1 200 exact\r\n\r\n"));
    assert.match(await rawUpgrade(port, "/ws/exact"), /200 exact/);
    assert.match(await rawUpgrade(port, "/ws/other?x=1"), /200 prefix/);
  });

  it("answers an upgrade nobody routes with 404 and closes the socket", async (t) => {
    const router = new UpgradeRouter();
    const { server, port } = await listen(router);
    t.after(() => stop(server));
    router.routeUpgrade("/ws/", (_request, socket) => socket.end("HTTP/1.1 200 ok\r\n\r\n"));
    assert.match(await rawUpgrade(port, "/elsewhere"), /^HTTP\/1.1 404 Not Found/);
    assert.match(await rawUpgrade(port, "/ws"), /^HTTP\/1.1 404 Not Found/, "a prefix route does not match its own name without the slash");
  });

  it("a removed route answers 404 again; removing an old route leaves a newer one alone", async (t) => {
    const router = new UpgradeRouter();
    const { server, port } = await listen(router);
    t.after(() => stop(server));
    const removeFirst = router.routeUpgrade("/a", (_request, socket) => socket.end("HTTP/1.1 200 first\r\n\r\n"));
    removeFirst();
    assert.match(await rawUpgrade(port, "/a"), /404/);
    router.routeUpgrade("/a", (_request, socket) => socket.end("HTTP/1.1 200 second\r\n\r\n"));
    removeFirst();
    assert.match(await rawUpgrade(port, "/a"), /200 second/);
  });

  it("a handler that throws gets its socket destroyed, not left open", async (t) => {
    const router = new UpgradeRouter();
    const { server, port } = await listen(router);
    t.after(() => stop(server));
    router.routeUpgrade("/boom", () => {
      throw new Error("handler bug");
    });
    assert.equal(await rawUpgrade(port, "/boom"), "");
  });

  it("refuses a second route for the same path and a path without a leading slash", () => {
    const router = new UpgradeRouter();
    router.routeUpgrade("/x", () => {});
    assert.throws(() => router.routeUpgrade("/x", () => {}), /already routed/);
    assert.throws(() => router.routeRequest("x", () => {}), /must start with "\/"/);
  });

  it("routes plain requests by path, and reports those it does not claim", async (t) => {
    const router = new UpgradeRouter();
    const { server, port } = await listen(router);
    t.after(() => stop(server));
    router.routeRequest("/mine/", (_request, response) => response.writeHead(200).end("mine"));
    const mine = await fetch(`http://127.0.0.1:${port}/mine/thing`);
    assert.equal(await mine.text(), "mine");
    assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 418);
  });
});
