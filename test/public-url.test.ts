/**
 * Addresses that work from elsewhere: every URL handed to a frontend is derived from the
 * request (Host; X-Forwarded-* only with trustProxy) or from publicUrl, and server.url never
 * says 0.0.0.0. Pure rules first, then a real server on every interface reached under each
 * of this machine's addresses.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { networkInterfaces } from "node:os";
import { Socket } from "node:net";
import { serve, WebSocketConnection, type BonitoServer } from "../src/index.js";
import { WebRTCConnection } from "../src/webrtc/index.js";
import { connectFrontend } from "../src/frontend/node/index.js";
import {
  BadHostError,
  listeningUrl,
  normaliseMountPath,
  parsePublicUrl,
  requestBaseUrl,
  type PublicUrlOptions,
} from "../src/server/public-url.js";
import { webSocketUrl } from "../src/core/urls.js";
import { echoApp } from "./helpers/echo-app.js";
import { httpGet } from "./helpers/http.js";
import { nextValue } from "./helpers/payload.js";

/** A request as `requestBaseUrl` sees it: headers and whether its socket is TLS. */
function fakeRequest(headers: Record<string, string | string[]>, encrypted = false): IncomingMessage {
  const socket = new Socket();
  if (encrypted) Object.assign(socket, { encrypted: true });
  return { headers, socket } as unknown as IncomingMessage;
}

const plain: PublicUrlOptions = { trustProxy: false, path: "/" };

describe("public URLs: the rules", () => {
  test("the Host header and the socket's TLS make the base URL", () => {
    assert.equal(requestBaseUrl(fakeRequest({ host: "192.0.2.7:8080" }), plain).href, "http://192.0.2.7:8080/");
    assert.equal(requestBaseUrl(fakeRequest({ host: "example.org" }, true), plain).href, "https://example.org/");
    assert.equal(requestBaseUrl(fakeRequest({ host: "[fd00::2]:9000" }), plain).href, "http://[fd00::2]:9000/");
    assert.equal(requestBaseUrl(fakeRequest({ host: "example.org" }), { ...plain, path: "/ui/" }).href, "http://example.org/ui/");
  });

  test("X-Forwarded-Proto and -Host count only with trustProxy, first value each", () => {
    const headers = { host: "127.0.0.1:8080", "x-forwarded-proto": "https, http", "x-forwarded-host": "example.org, proxy.local" };
    assert.equal(requestBaseUrl(fakeRequest(headers), plain).href, "http://127.0.0.1:8080/");
    assert.equal(requestBaseUrl(fakeRequest(headers), { ...plain, trustProxy: true }).href, "https://example.org/");
    // A scheme that is neither http nor https is ignored, not copied into URLs.
    const odd = { host: "127.0.0.1:8080", "x-forwarded-proto": "javascript" };
    assert.equal(requestBaseUrl(fakeRequest(odd), { ...plain, trustProxy: true }).href, "http://127.0.0.1:8080/");
  });

  test("publicUrl wins over the request", () => {
    const publicUrl = parsePublicUrl("https://example.org/app");
    assert.equal(publicUrl.href, "https://example.org/app/");
    const headers = { host: "127.0.0.1:8080", "x-forwarded-host": "evil.example" };
    assert.equal(requestBaseUrl(fakeRequest(headers), { publicUrl, trustProxy: true, path: "/" }).href, "https://example.org/app/");
  });

  test("a missing or malformed Host is refused, never copied into a URL", () => {
    assert.throws(() => requestBaseUrl(fakeRequest({}), plain), BadHostError);
    for (const host of ["evil.example/path", "a b", "example.org:99999", "x".repeat(300), "example.org@evil", '"><script>']) {
      assert.throws(() => requestBaseUrl(fakeRequest({ host }), plain), BadHostError, host);
    }
    assert.throws(() => requestBaseUrl(fakeRequest({ host: "ok.example", "x-forwarded-host": "bad/host" }), { ...plain, trustProxy: true }), BadHostError);
  });

  test("publicUrl and path are checked", () => {
    assert.throws(() => parsePublicUrl("example.org"), /absolute URL/);
    assert.throws(() => parsePublicUrl("ftp://example.org/"), /http/);
    assert.throws(() => parsePublicUrl("https://example.org/?a=1"), /query/);
    assert.equal(normaliseMountPath(undefined), "/");
    assert.equal(normaliseMountPath("ui"), "/ui/");
    assert.equal(normaliseMountPath("/a/b"), "/a/b/");
    assert.throws(() => normaliseMountPath("//evil.example/"), /plain URL path/);
  });

  test("the printed URL never says 0.0.0.0", () => {
    const wildcard = listeningUrl({ address: "0.0.0.0", family: "IPv4", port: 8080 }, false, { path: "/" });
    assert.notEqual(wildcard.hostname, "0.0.0.0");
    const external = machineAddresses()[0] ?? "127.0.0.1";
    assert.equal(wildcard.href, `http://${external}:8080/`);
    const v6 = listeningUrl({ address: "::", family: "IPv6", port: 8080 }, true, { path: "/" });
    assert.ok(!["[::]", "0.0.0.0"].includes(v6.hostname), v6.href);
    assert.equal(listeningUrl({ address: "10.1.2.3", family: "IPv4", port: 1 }, true, { path: "/x/" }).href, "https://10.1.2.3:1/x/");
  });

  test("WebSocket URLs follow the page's scheme and path", () => {
    assert.equal(webSocketUrl("https://example.org/app/", "bonito-signaling"), "wss://example.org/app/bonito-signaling");
    assert.equal(webSocketUrl("http://10.0.0.1:8080/", "bonito-ws/abc"), "ws://10.0.0.1:8080/bonito-ws/abc");
    assert.equal(webSocketUrl("http://page.example/", "wss://signal.example/s"), "wss://signal.example/s");
  });
});

/** This machine's IPv4 addresses other machines could use (not loopback). */
function machineAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .filter((entry) => entry.family === "IPv4" && !entry.internal)
    .map((entry) => entry.address);
}

/** `url` without its query (the WebSocket URL carries the session's secret there). */
function withoutQuery(url: string): string {
  const parsed = new URL(url);
  parsed.search = "";
  return parsed.href;
}


describe("public URLs: a server on every interface", { timeout: 120_000 }, () => {
  let webrtc: BonitoServer;
  let websocket: BonitoServer;
  const echo = echoApp();
  // Every address of this machine, loopback first: a frontend must get back the one it used.
  const addresses = ["127.0.0.1", ...machineAddresses()];

  before(async () => {
    webrtc = await serve(echo.app, { host: "0.0.0.0", connection: () => new WebRTCConnection() });
    websocket = await serve(echo.app, { host: "0.0.0.0", connection: () => new WebSocketConnection() });
  });
  after(async () => {
    await webrtc?.close();
    await websocket?.close();
  });

  test("server.url names a reachable address, not 0.0.0.0", () => {
    for (const server of [webrtc, websocket]) {
      const url = new URL(server.url);
      assert.notEqual(url.hostname, "0.0.0.0");
      assert.ok(addresses.includes(url.hostname), `${url.hostname} is one of ${addresses.join(", ")}`);
    }
  });

  test("each bootstrap names the address its request used", async (t) => {
    const port = (server: BonitoServer) => new URL(server.url).port;
    for (const address of addresses) {
      const rtc = JSON.parse((await httpGet(`http://${address}:${port(webrtc)}/`)).body);
      assert.equal(rtc.connection.signalingUrl, `ws://${address}:${port(webrtc)}/bonito-signaling`);
      const ws = JSON.parse((await httpGet(`http://${address}:${port(websocket)}/`)).body);
      assert.equal(withoutQuery(ws.connection.url), `ws://${address}:${port(websocket)}/bonito-ws/${ws.sessionId}`);
    }
    // A name works as well as an address.
    const named = JSON.parse((await httpGet(`http://127.0.0.1:${port(webrtc)}/`, { headers: { host: `localhost:${port(webrtc)}` } })).body);
    assert.equal(named.connection.signalingUrl, `ws://localhost:${port(webrtc)}/bonito-signaling`);
    t.diagnostic(`addresses tried: ${addresses.join(", ")}`);
  });

  test("a Node frontend that used a non-loopback address connects through it", async (t) => {
    const address = addresses.at(-1)!;
    t.diagnostic(`connecting through ${address}`);
    for (const server of [webrtc, websocket]) {
      const frontend = await connectFrontend(`http://${address}:${new URL(server.url).port}/`);
      try {
        const echoed = nextValue(frontend.observable("output"), 10_000);
        await frontend.observable("input").set(`via ${address}`);
        assert.equal(await echoed, `via ${address}`);
      } finally {
        await frontend.close();
      }
    }
  });

  test("X-Forwarded-* is ignored unless trustProxy; a malformed Host is refused", async () => {
    const port = new URL(webrtc.url).port;
    const forwarded = { "x-forwarded-proto": "https", "x-forwarded-host": "proxy.example" };
    const ignored = JSON.parse((await httpGet(`http://127.0.0.1:${port}/`, { headers: forwarded })).body);
    assert.equal(ignored.connection.signalingUrl, `ws://127.0.0.1:${port}/bonito-signaling`);
    const bad = await httpGet(`http://127.0.0.1:${port}/`, { headers: { host: "[not-a-host" } });
    assert.equal(bad.status, 403);
    assert.match(bad.body, /Host header/);
  });
});

describe("public URLs: behind a proxy", { timeout: 60_000 }, () => {
  test("trustProxy takes scheme and host from the proxy's headers", async () => {
    const server = await serve(echoApp().app, { trustProxy: true, connection: () => new WebRTCConnection() });
    try {
      const forwarded = { "x-forwarded-proto": "https", "x-forwarded-host": "proxy.example" };
      const bootstrap = JSON.parse((await httpGet(server.url, { headers: forwarded })).body);
      assert.equal(bootstrap.connection.signalingUrl, "wss://proxy.example/bonito-signaling");
    } finally {
      await server.close();
    }
  });

  test("publicUrl names every URL, server.url included", async () => {
    const server = await serve(echoApp().app, { publicUrl: "https://example.org/app/", connection: () => new WebSocketConnection() });
    try {
      assert.equal(server.url, "https://example.org/app/");
      const local = `http://127.0.0.1:${(server.httpServer.address() as { port: number }).port}/`;
      const bootstrap = JSON.parse((await httpGet(local)).body);
      assert.equal(withoutQuery(bootstrap.connection.url), `wss://example.org/app/bonito-ws/${bootstrap.sessionId}`);
    } finally {
      await server.close();
    }
  });
});
