/**
 * Two hosts: a server host and a frontend host in network namespaces of their own, joined
 * only by a veth pair (own addresses, own loopback, no other route). The server listens on
 * every interface and prints its URL; the frontend reaches it across the link. Node ↔ Node
 * on each backend, and a Chromium page launched inside the frontend's namespace. Then the
 * frontend host drops every UDP packet (nftables): WebRTC cannot connect, and the session
 * continues over the WebSocket.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHostPair, chromiumInside, type HostPair } from "./helpers/netns.js";
import { spawnFixture, type Child } from "./helpers/process.js";
import { backendArg, backendCases } from "./helpers/backends.js";
import { launchBrowser, CHROMIUM_PATH, type TestBrowser } from "./helpers/browser.js";
import { openPage, pageEcho } from "./helpers/page.js";
import type { Page } from "playwright-core";

interface FrontendResult {
  sessionId: string;
  connectionType: string;
  transport: string;
  fallbackReason: string | null;
  setupMs: number;
  bytesOk: boolean;
  ordered: boolean;
}

/** Run the frontend fixture on the frontend host and return what it reported. */
async function runFrontend(pair: HostPair, url: string, args: string[]): Promise<FrontendResult> {
  const frontend = spawnFixture("network-frontend", [url, ...args], { netns: pair.frontend.name });
  try {
    const [, status, detail] = await frontend.waitFor(/^(RESULT|FAILED) (.*)$/, 60_000);
    if (status === "FAILED") throw new Error(`the frontend failed: ${detail}`);
    return JSON.parse(detail!) as FrontendResult;
  } finally {
    await frontend.stop();
  }
}

/**
 * Serve on the server host (fixture flags `serverArgs`), open the page in a Chromium running
 * on the frontend host, and run `check` on the connected page; stops everything after.
 */
async function withPageAcross(
  pair: HostPair,
  serverArgs: string[],
  check: (page: Page, server: Child, connectedMs: number) => Promise<void>,
): Promise<void> {
  const { server, url } = await startServer(pair, serverArgs);
  const wrapper = await chromiumInside(pair.frontend.name, CHROMIUM_PATH);
  let browser: TestBrowser | undefined;
  try {
    browser = await launchBrowser({ executablePath: wrapper.path });
    const started = performance.now();
    const page = await openPage(browser, url);
    await check(page, server, performance.now() - started);
  } finally {
    await browser?.close();
    await wrapper.remove();
    await server.stop();
  }
}

/** Start the server fixture on the server host; resolves with it and the URL it printed. */
async function startServer(pair: HostPair, args: string[]): Promise<{ server: Child; url: string }> {
  const server = spawnFixture("network-server", args, { netns: pair.server.name });
  const url = (await server.waitFor(/^READY (\S+)/, 30_000))[1]!;
  return { server, url };
}

describe("two hosts joined by a veth pair", { timeout: 300_000 }, async () => {
  let pair: HostPair;
  before(async () => {
    pair = await createHostPair();
  });
  after(async () => {
    await pair?.destroy();
  });

  for (const { backend, skip } of await backendCases()) {
    test(`Node ↔ Node [${backend}] across the link`, { skip }, async (t) => {
      const { server, url } = await startServer(pair, [backendArg(backend)]);
      try {
        // A server on 0.0.0.0 names the address the other host can reach, never 0.0.0.0.
        assert.equal(url, `${new URL(url).protocol}//${pair.server.address}:${new URL(url).port}/`);
        const result = await runFrontend(pair, url, [backendArg(backend)]);
        assert.equal(result.connectionType, "webrtc");
        assert.equal(result.transport, "webrtc");
        assert.ok(result.bytesOk, "1 MiB echoed byte-exact");
        assert.ok(result.ordered, "100 updates echoed in order");
        await server.waitFor(new RegExp(`^OPEN ${result.sessionId} webrtc$`));
        t.diagnostic(`setup across namespaces (bootstrap to open): ${result.setupMs} ms`);
      } finally {
        await server.stop();
      }
    });
  }

  test("a Chromium page on the frontend host", async (t) => {
    await withPageAcross(pair, [], async (page, _server, connectedMs) => {
      t.diagnostic(`page load to connected across namespaces: ${connectedMs.toFixed(0)} ms`);
      // The page is on the other host: it reached the server at the server host's address.
      assert.equal(await page.evaluate(() => location.hostname), pair.server.address);
      assert.equal(await page.evaluate(() => (window as any).Bonito.stats.transport), "webrtc");
      assert.deepEqual(await pageEcho(page, 200_000), { length: 200_000, equal: true, type: "Uint8Array" });
    });
  });

  describe("with UDP blocked on the frontend host", async () => {
    // The time to fall back: short, so the suite stays quick; the default is 15 s.
    const timeoutMs = 3000;
    before(async () => {
      await pair.blockUdp();
    });
    after(async () => {
      await pair.allowUdp();
    });

    for (const { backend, skip } of await backendCases()) {
      test(`Node ↔ Node [${backend}] falls back to the WebSocket`, { skip }, async (t) => {
        const { server, url } = await startServer(pair, [backendArg(backend), `--negotiation-timeout=${timeoutMs}`]);
        try {
          const result = await runFrontend(pair, url, [backendArg(backend)]);
          assert.equal(result.transport, "websocket");
          assert.match(result.fallbackReason ?? "", /no route between the peers|no data channel within/);
          assert.ok(result.bytesOk, "1 MiB echoed byte-exact over the fallback");
          assert.ok(result.ordered, "100 updates echoed in order over the fallback");
          await server.waitFor(new RegExp(`^OPEN ${result.sessionId} websocket$`));
          const warning = await server.waitFor(new RegExp(`^WARN bonito: session ${result.sessionId}: WebRTC could not connect \\((.*)\\); continuing over the WebSocket, (\\d+) ms after`));
          const [, reason, afterMs] = warning;
          t.diagnostic(`fell back after ${afterMs} ms (configured ${timeoutMs} ms); connectFrontend took ${result.setupMs} ms; why: ${reason}`);
        } finally {
          await server.stop();
        }
      });
    }

    test("a Chromium page falls back to the WebSocket", async (t) => {
      await withPageAcross(pair, [`--negotiation-timeout=${timeoutMs}`], async (page, server, connectedMs) => {
        t.diagnostic(`page load to connected, with the fallback: ${connectedMs.toFixed(0)} ms`);
        const stats = await page.evaluate(() => ({ ...(window as any).Bonito.stats }));
        assert.equal(stats.transport, "websocket");
        assert.match(stats.fallbackReason, /no route between the peers|no data channel within/);
        assert.deepEqual(await pageEcho(page, 200_000), { length: 200_000, equal: true, type: "Uint8Array" });
        await server.waitFor(/^OPEN \S+ websocket$/);
        await server.waitFor(/^WARN bonito: session \S+: WebRTC could not connect \(.*\); continuing over the WebSocket/);
      });
    });
  });
});
