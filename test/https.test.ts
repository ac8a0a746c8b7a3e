/**
 * HTTPS and your own server: `serve(app, { https })`, and `serve(app, { server, path })` on a
 * server that keeps its own routes and WebSocket endpoint. Certificates come from a CA the
 * test makes; Node frontends trust it with `{ ca }`, Chromium trusts exactly the server's key.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import { createServer as createHttpsServer, request as httpsRequest, type Server as HttpsServer } from "node:https";
import { createHash, X509Certificate } from "node:crypto";
import { once } from "node:events";
import WebSocket, { WebSocketServer } from "ws";
import { serve, WebSocketConnection, type BonitoServer } from "../src/index.js";
import { WebRTCConnection } from "../src/webrtc/index.js";
import { connectFrontend, fetchBootstrap, type Frontend } from "../src/frontend/node/index.js";
import { makeCertificates, type TestCertificates } from "./helpers/certificates.js";
import { launchBrowser, type TestBrowser } from "./helpers/browser.js";
import { openPage, pageEcho } from "./helpers/page.js";
import { echoApp } from "./helpers/echo-app.js";
import { nextValue } from "./helpers/payload.js";

/** Round trip of one value through the echo app. */
async function echoOnce(frontend: Frontend, value: string): Promise<void> {
  const echoed = nextValue(frontend.observable("output"), 15_000);
  await frontend.observable("input").set(value);
  assert.equal(await echoed, value);
}

/** Chromium's flag that trusts exactly this certificate's key (no blanket "ignore errors"). */
function trustKeyFlag(cert: string): string {
  const spki = new X509Certificate(cert).publicKey.export({ type: "spki", format: "der" });
  return `--ignore-certificate-errors-spki-list=${createHash("sha256").update(spki).digest("base64")}`;
}

let certificates: TestCertificates;
let browser: TestBrowser;

before(async () => {
  certificates = await makeCertificates(["localhost", "127.0.0.1"]);
  browser = await launchBrowser({ extraArgs: [trustKeyFlag(certificates.cert)] });
});
after(async () => {
  await browser?.close();
});

describe("serve(app, { https })", { timeout: 120_000 }, () => {
  let webrtc: BonitoServer;
  let websocket: BonitoServer;

  before(async () => {
    const https = { key: certificates.key, cert: certificates.cert };
    webrtc = await serve(echoApp().app, { https, connection: () => new WebRTCConnection() });
    websocket = await serve(echoApp().app, { https, connection: () => new WebSocketConnection() });
  });
  after(async () => {
    await webrtc?.close();
    await websocket?.close();
  });

  test("every URL says https:// or wss:// on the same port", async () => {
    assert.match(webrtc.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
    const port = new URL(webrtc.url).port;
    const rtc = await fetchBootstrap(webrtc.url, { ca: certificates.ca });
    assert.equal((rtc.connection as { signalingUrl?: string }).signalingUrl, `wss://127.0.0.1:${port}/bonito-signaling`);
    const ws = await fetchBootstrap(websocket.url, { ca: certificates.ca });
    const socketUrl = new URL((ws.connection as unknown as { url: string }).url);
    assert.equal(`${socketUrl.origin}${socketUrl.pathname}`, `wss://127.0.0.1:${new URL(websocket.url).port}/bonito-ws/${ws.sessionId}`);
  });

  test("a Node frontend that trusts the CA connects over WebRTC (signaling on wss) and over wss", async () => {
    for (const server of [webrtc, websocket]) {
      const frontend = await connectFrontend(server.url, { ca: certificates.ca });
      try {
        await echoOnce(frontend, `over ${frontend.connectionType}`);
      } finally {
        await frontend.close();
      }
    }
  });

  test("without the CA the frontend is refused, and told how to trust it", async () => {
    await assert.rejects(connectFrontend(webrtc.url), /certificate.*\{ ca \}/);
  });

  test("a Chromium page over https connects its data channel", async () => {
    const page = await openPage(browser, webrtc.url);
    try {
      assert.equal(await page.evaluate(() => location.protocol), "https:");
      assert.deepEqual(await pageEcho(page, 70_000), { length: 70_000, equal: true, type: "Uint8Array" });
    } finally {
      await page.close();
    }
  });
});

describe("serve(app, { server, path }) on your own https server", { timeout: 120_000 }, () => {
  let server: HttpsServer;
  let userSockets: WebSocketServer;
  let bonito: BonitoServer;
  let origin: string;

  before(async () => {
    // The user's app: its own pages and its own WebSocket endpoint, attached before Bonito.
    server = createHttpsServer({ key: certificates.key, cert: certificates.cert }, (request, response) => {
      if (request.url === "/health") return void response.end("healthy");
      response.writeHead(request.url === "/" ? 200 : 404).end(`user app: ${request.url}`);
    });
    userSockets = new WebSocketServer({ server, path: "/user-socket" });
    userSockets.on("connection", (socket) => socket.on("message", (data) => socket.send(`echo ${String(data)}`)));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    origin = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
    bonito = await serve(echoApp().app, { server, path: "/ui/", connection: () => new WebRTCConnection() });
  });
  after(async () => {
    await bonito?.close();
    userSockets?.close();
    server?.closeAllConnections();
    server?.close();
  });

  /** GET `path` on the user's server. */
  async function get(path: string): Promise<{ status: number; body: string; location?: string }> {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      httpsRequest(`${origin}${path}`, { ca: certificates.ca }, resolve).on("error", reject).end();
    });
    let body = "";
    for await (const chunk of response) body += chunk;
    return { status: response.statusCode ?? 0, body, ...(response.headers.location ? { location: response.headers.location } : {}) };
  }

  /** One message through the user's own WebSocket endpoint. */
  async function userSocketEcho(): Promise<string> {
    const socket = new WebSocket(`${origin.replace("https", "wss")}/user-socket`, { ca: certificates.ca });
    await once(socket, "open");
    socket.send("ping");
    const [data] = await once(socket, "message");
    socket.close();
    return String(data);
  }

  test("the app lives at path, with https URLs below it", async () => {
    assert.equal(bonito.url, `${origin}/ui/`);
    const bootstrap = await fetchBootstrap(bonito.url, { ca: certificates.ca });
    assert.equal((bootstrap.connection as { signalingUrl?: string }).signalingUrl, `${origin.replace("https", "wss")}/ui/bonito-signaling`);
    const frontend = await connectFrontend(bonito.url, { ca: certificates.ca });
    try {
      await echoOnce(frontend, "mounted");
    } finally {
      await frontend.close();
    }
    const redirect = await get("/ui");
    assert.equal(redirect.status, 301);
    assert.equal(redirect.location, "ui/");
  });

  test("a Chromium page at path loads its scripts relative to it and connects", async () => {
    const page = await openPage(browser, bonito.url);
    try {
      assert.deepEqual(await pageEcho(page, 1000), { length: 1000, equal: true, type: "Uint8Array" });
    } finally {
      await page.close();
    }
  });

  test("the user's routes and WebSocket endpoint still answer, during and after", async () => {
    assert.deepEqual(await get("/health"), { status: 200, body: "healthy" });
    assert.deepEqual(await get("/"), { status: 200, body: "user app: /" });
    assert.equal(await userSocketEcho(), "echo ping");
    await bonito.close();
    assert.ok(server.listening, "closing Bonito leaves the user's server running");
    assert.deepEqual(await get("/ui/"), { status: 404, body: "user app: /ui/" });
    assert.deepEqual(await get("/health"), { status: 200, body: "healthy" });
    assert.equal(await userSocketEcho(), "echo ping");
  });
});

describe("serve(app, { server }) on your own http server, at its root", { timeout: 60_000 }, () => {
  let server: HttpServer;
  let bonito: BonitoServer;

  before(async () => {
    server = createHttpServer((request, response) => void response.writeHead(200).end(`user app: ${request.url}`));
    // Bonito may be mounted before the server listens; `url` is known once it does.
    bonito = await serve(echoApp().app, { server, connection: () => new WebSocketConnection() });
    assert.throws(() => bonito.url, /not listening/);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
  });
  after(async () => {
    await bonito?.close();
    server?.closeAllConnections();
    server?.close();
  });

  test("Bonito takes its page and sockets, the user's app keeps everything else", async () => {
    const frontend = await connectFrontend(bonito.url);
    try {
      await echoOnce(frontend, "at the root");
    } finally {
      await frontend.close();
    }
    const response = await fetch(new URL("/api/items", bonito.url));
    assert.equal(await response.text(), "user app: /api/items");
    // An upgrade nobody routes is refused, not left hanging.
    const stray = new WebSocket(new URL("/nowhere", bonito.url.replace("http", "ws")).href);
    const [error] = await once(stray, "error");
    assert.match(String((error as Error).message), /404/);
  });

  test("serve() twice on one server is refused", async () => {
    await assert.rejects(serve(echoApp().app, { server }), /already carries a Bonito app/);
  });
});
