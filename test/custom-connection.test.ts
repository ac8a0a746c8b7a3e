/**
 * The plugin contract from outside: examples/custom-connection is a connection (Server-Sent
 * Events one way, POSTs the other) that imports nothing of this package but its public entry
 * point, resolved through package.json's exports map as any outside code would, and ships its
 * own page script. Run as its own process and driven by Chromium.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { launchBrowser, type TestBrowser } from "./helpers/browser.js";
import { spawnScript, type Child } from "./helpers/process.js";

const SOURCES = fileURLToPath(new URL("../../examples/custom-connection/", import.meta.url));
const SERVER = fileURLToPath(new URL("../examples/custom-connection/server.js", import.meta.url));

describe("a connection written outside the package", { timeout: 120_000 }, () => {
  let browser: TestBrowser;
  let server: Child;
  let url: string;

  before(async () => {
    browser = await launchBrowser();
    server = spawnScript(SERVER, [], { PORT: "0" });
    url = (await server.waitFor(/custom connection demo: (\S+)/))[1]!;
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test("imports only the package's public entry point and Node's built-ins", async () => {
    const files = (await readdir(SOURCES)).filter((name) => name.endsWith(".ts"));
    assert.ok(files.length >= 2);
    for (const file of files) {
      const source = await readFile(`${SOURCES}${file}`, "utf8");
      for (const [, specifier] of source.matchAll(/from\s+"([^"]+)"/g)) {
        assert.match(specifier!, /^(bonito-webrtc|node:[a-z:/]+|\.\/[a-z-]+\.js)$/, `${file} imports ${specifier}`);
      }
    }
  });

  test("a page runs over it both ways, with the page script the connection ships", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(url);
    await page.evaluate(() => (window as any).Bonito.wait_for_connection());
    assert.equal(await page.evaluate(() => typeof (window as any).BonitoEventStream?.connect), "function");
    for (let i = 0; i < 3; i++) await page.click("#plus");
    // The server doubles what the page counts and sends it back over the event stream.
    await page.waitForFunction(() => document.getElementById("doubled")?.textContent === "6");
    assert.deepEqual(errors, []);
    await page.close();
  });
});
