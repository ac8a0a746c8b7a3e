/**
 * The demo as a newcomer runs it: the demo server process (what `npm start` runs after
 * building, with PORT=0), driven by Chromium and by Firefox, and the Node-to-Node demo end
 * to end.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { launchBrowser, type TestBrowser } from "./helpers/browser.js";
import { launchFirefox, interfaceAddress, type TestFirefox } from "./helpers/firefox.js";
import { patternBytes, MiB } from "./helpers/payload.js";

const DEMO_SERVER = fileURLToPath(new URL("../examples/demo-server.js", import.meta.url));
const PEER = fileURLToPath(new URL("../examples/peer.js", import.meta.url));
const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/", import.meta.url));

/** Start the demo server on a free port (with `env` added); resolves with its URL and a stop function. */
async function startDemoServer(env: Record<string, string> = {}): Promise<{ url: string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [DEMO_SERVER], { env: { ...process.env, PORT: "0", ...env }, stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`demo server printed no URL: ${output}`)), 20_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(/open (http:\/\/\S+) in a browser/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once("exit", () => reject(new Error(`demo server exited: ${output}`)));
  });
  return {
    url,
    stop: async () => {
      // Ctrl-C, as a person would stop it.
      child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

describe("the browser demo", { timeout: 180_000 }, () => {
  let browser: TestBrowser;
  let demo: Awaited<ReturnType<typeof startDemoServer>>;
  before(async () => {
    demo = await startDemoServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    const code = await demo?.stop();
    assert.equal(code, 0, "Ctrl-C stops the demo server cleanly");
  });

  test("badge, plot, upload and download work over WebRTC", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(demo.url);
      await page.waitForFunction(() => document.getElementById("status")!.textContent === "connected");
      assert.equal(await page.textContent("#badge"), "WebRTC data channel");

      // The slider's value goes to Node, and Node's plot comes back.
      const before = await page.getAttribute("#plot", "data-first");
      await page.fill("#frequency", "11");
      await page.dispatchEvent("#frequency", "input");
      await page.waitForFunction(() => document.getElementById("plot")!.dataset.frequency === "11");
      assert.notEqual(await page.getAttribute("#plot", "data-first"), before, "the plot changed");
      assert.equal(await page.getAttribute("#plot", "data-samples"), "600");

      // A 5 MiB file uploaded through the page arrives at Node with the right SHA-256.
      const file = Buffer.from(patternBytes(5 * MiB, 5));
      const digest = createHash("sha256").update(file).digest("hex");
      await page.setInputFiles("#file", { name: "five.bin", mimeType: "application/octet-stream", buffer: file });
      await page.waitForFunction(() => document.getElementById("upload-verdict")!.dataset.ok !== undefined, null, { timeout: 60_000 });
      assert.equal(await page.getAttribute("#upload-verdict", "data-ok"), "true");
      assert.match((await page.textContent("#upload-verdict"))!, new RegExp(digest));

      // The download arrives intact in the page.
      await page.fill("#download-size", "4");
      await page.click("#download");
      await page.waitForFunction(() => document.getElementById("download-verdict")!.dataset.ok !== undefined, null, { timeout: 60_000 });
      assert.equal(await page.getAttribute("#download-verdict", "data-ok"), "true");

      await page.waitForFunction(() => /ms$/.test(document.getElementById("rtt")!.textContent ?? ""));
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}demo.png`, fullPage: true });
    } finally {
      await page.close();
    }
  });

  test("a browser without WebRTC falls back to the WebSocket, and the badge says so", async () => {
    const page = await browser.newPage();
    try {
      await page.addInitScript(() => delete (window as { RTCPeerConnection?: unknown }).RTCPeerConnection);
      await page.goto(demo.url);
      await page.waitForFunction(() => document.getElementById("status")!.textContent === "connected");
      assert.equal(await page.textContent("#badge"), "WebSocket (fallback)");
      assert.match((await page.getAttribute("#badge", "title"))!, /WebRTC could not connect: .*RTCPeerConnection/);
      // The session works: the slider's value goes to Node and the plot comes back.
      await page.fill("#frequency", "7");
      await page.dispatchEvent("#frequency", "input");
      await page.waitForFunction(() => document.getElementById("plot")!.dataset.frequency === "7");
    } finally {
      await page.close();
    }
  });

  test("the Node-to-Node demo streams to the server and reports the checksum verdict", async () => {
    const child = spawn(process.execPath, [PEER, demo.url, "8"], { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    clearTimeout(timer);
    assert.match(output, /connected over webrtc/);
    assert.match(output, /sent 8\.0 MiB in [\d.]+ s: [\d.]+ MiB\/s/);
    assert.match(output, /checksum OK: [0-9a-f]{64}/);
    assert.equal(code, 0);
  });
});

describe("the browser demo in Firefox", { timeout: 120_000 }, () => {
  let firefox: TestFirefox;
  let demo: Awaited<ReturnType<typeof startDemoServer>>;
  before(async () => {
    // Firefox gathers no 127.0.0.1 candidate: the demo listens on this host's address.
    demo = await startDemoServer({ HOST: interfaceAddress() });
    firefox = await launchFirefox();
  });
  after(async () => {
    await firefox?.close();
    const code = await demo?.stop();
    assert.equal(code, 0, "Ctrl-C stops the demo server cleanly");
  });

  test("connects over WebRTC and shows a live round-trip time", async () => {
    const page = await firefox.newPage();
    try {
      await page.goto(demo.url);
      await page.waitForFunction(() => document.getElementById("status")!.textContent === "connected", { timeout: 20_000 });
      assert.equal(await page.$eval("#badge", (badge) => badge.textContent), "WebRTC data channel");
      // Two round trips measured one after the other: the figure is live.
      const rtt = await page.evaluate(
        () =>
          new Promise<string>((resolve) => {
            const element = document.getElementById("rtt")!;
            let updates = 0;
            new MutationObserver(() => {
              if (/ ms$/.test(element.textContent ?? "") && ++updates === 2) resolve(element.textContent!);
            }).observe(element, { childList: true, characterData: true, subtree: true });
          }),
      );
      assert.match(rtt, /^[\d.]+ ms$/);
    } finally {
      await page.close();
    }
  });
});
