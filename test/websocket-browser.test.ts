/**
 * Chromium against `serve()` over the real WebSocket connection: echo from the page
 * (frames built by the browser bundle decoded by Node and back), evaljs, and a socket
 * cut abnormally that reconnects with everything sent meanwhile delivered in order.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import type { Duplex } from "node:stream";
import { serve, WebSocketConnection, type BonitoServer } from "../src/index.js";
import { echoApp } from "./helpers/echo-app.js";
import { launchBrowser, type TestBrowser } from "./helpers/browser.js";
import { waitUntil, KiB, MiB } from "./helpers/payload.js";
import { pageEcho, openPage } from "./helpers/page.js";

describe("Chromium over WebSocket", { timeout: 180_000 }, () => {
  let browser: TestBrowser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  for (const compression of [false, true]) {
    describe(`compression ${compression ? "on" : "off"}`, () => {
      let server: BonitoServer;
      let page: Page;
      const echo = echoApp();
      before(async () => {
        server = await serve(echo.app, { compression, connection: () => new WebSocketConnection() });
        page = await openPage(browser, server.url);
      });
      after(async () => {
        await page?.close();
        await server?.close();
      });

      for (const size of [0, 1, 64 * KiB, MiB, 8 * MiB]) {
        test(`echo of a ${size}-byte Uint8Array from the page is byte-exact`, async () => {
          const result = await pageEcho(page, size);
          assert.deepEqual(result, { length: size, equal: true, type: "Uint8Array" });
          const received = echo.sessions.at(-1)!.received.at(-1) as Uint8Array;
          assert.equal(received.length, size);
        });
      }

      test("evaljs runs in the page", async () => {
        await echo.sessions.at(-1)!.session.evaljs(`document.body.dataset.evaluated = "yes " + (6 * 7);`);
        await page.waitForFunction(() => document.body.dataset.evaluated === "yes 42");
      });
    });
  }

  test("a socket cut from the server reconnects, and what either side sent meanwhile arrives in order", async () => {
    const echo = echoApp();
    const server = await serve(echo.app, { connection: () => new WebSocketConnection() });
    // The server's end of each upgraded socket, so the test can cut the link as a network failure would.
    const upgraded: Duplex[] = [];
    server.httpServer.on("upgrade", (_request, socket) => upgraded.push(socket));
    const page = await openPage(browser, server.url);
    try {
      const entry = echo.sessions.at(-1)!;
      await page.evaluate(() => {
        const seen: unknown[] = [];
        (window as any).seenWhileDown = seen;
        (window as any).Bonito.observable("news").on((v: unknown) => seen.push(v));
      });
      const news = entry.session.observable<string>("", "news");
      for (const socket of upgraded.splice(0)) socket.destroy();
      // The server side queues while the link is down.
      const sent = ["a", "b", "c", "d", "e"].map((v) => news.set(v));
      await page.waitForFunction(() => (window as any).Bonito.connection_status() === "connecting");
      await page.evaluate(() => {
        for (let i = 1; i <= 5; i++) (window as any).Bonito.observable("input").set(i);
      });
      await page.waitForFunction(() => (window as any).Bonito.connection_status() === "open", null, { timeout: 30_000 });
      await Promise.all(sent);
      await waitUntil(() => entry.received.length === 5, 10_000, "page updates reach the server");
      assert.deepEqual(entry.received, [1, 2, 3, 4, 5]);
      await page.waitForFunction(() => (window as any).seenWhileDown.length === 5);
      assert.deepEqual(await page.evaluate(() => (window as any).seenWhileDown), ["a", "b", "c", "d", "e"]);
      assert.equal(entry.session.status, "open", "same session survived");
      assert.equal(server.sessions.size, 1);
    } finally {
      await page.close();
      await server.close();
    }
  });

  test("closing the page ends the session", async () => {
    const echo = echoApp();
    const server = await serve(echo.app, { connection: () => new WebSocketConnection() });
    const page = await openPage(browser, server.url);
    try {
      const session = echo.sessions.at(-1)!.session;
      await page.close();
      const info = await session.closed;
      assert.match(info.reason, /closed the connection/);
    } finally {
      await server.close();
    }
  });
});
