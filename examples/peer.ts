/**
 * `npm run demo:peer -- <url> [MiB]`: joins the demo session at <url> as a Node frontend
 * over WebRTC, uploads MiB (default 64) of random data with a progress bar, and prints
 * the throughput and Node's SHA-256 verdict. Exits 0 when the checksum matches.
 * `BACKEND=node-datachannel` picks the faster Node WebRTC stack.
 */
import { createHash, randomBytes } from "node:crypto";
import { connectFrontend } from "../src/frontend/node/index.js";
import type { BackendName } from "../src/webrtc/index.js";
import { CHUNK_BYTES, UPLOAD_WINDOW_BYTES, type UploadMessage, type UploadResult } from "./demo-app.js";

const [url, mibArg] = process.argv.slice(2);
if (!url) {
  console.error("usage: npm run demo:peer -- <url printed by the demo server> [MiB]");
  process.exit(2);
}
const size = Math.round(Number(mibArg ?? 64) * 1024 * 1024);

const connectStarted = Date.now();
const frontend = await connectFrontend(url, { webrtc: { backend: (process.env.BACKEND || undefined) as BackendName | undefined } });
console.log(`connected over ${frontend.transport} in ${Date.now() - connectStarted} ms (session ${frontend.sessionId})`);

const upload = frontend.observable<UploadMessage>("upload");
const acknowledged = frontend.observable<number>("upload-received");
const verdict = new Promise<UploadResult>((resolve) => frontend.observable<UploadResult>("upload-result").on(resolve));
const ackAtLeast = (bytes: number) =>
  new Promise<void>((resolve) => {
    if ((acknowledged.value ?? 0) >= bytes) return resolve();
    const off = acknowledged.on((n) => {
      if (n >= bytes) {
        off();
        resolve();
      }
    });
  });

const bar = (fraction: number) => {
  const width = 30;
  const filled = Math.round(fraction * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`;
};
const interactive = process.stdout.isTTY;
acknowledged.on((n) => {
  const line = `upload ${bar(n / size)} ${(n / 1048576).toFixed(1)} / ${(size / 1048576).toFixed(1)} MiB`;
  if (interactive) process.stdout.write(`\r${line}`);
});

const hash = createHash("sha256");
const started = Date.now();
await upload.set({ kind: "start", name: "peer-upload.bin", size });
for (let offset = 0; offset < size; offset += CHUNK_BYTES) {
  await ackAtLeast(offset - UPLOAD_WINDOW_BYTES);
  const data = new Uint8Array(randomBytes(Math.min(CHUNK_BYTES, size - offset)));
  hash.update(data);
  await upload.set({ kind: "chunk", data });
}
await upload.set({ kind: "end", sha256: hash.digest("hex") });
const result = await verdict;
const seconds = (Date.now() - started) / 1000;
if (interactive) process.stdout.write("\n");
console.log(`sent ${(result.bytes / 1048576).toFixed(1)} MiB in ${seconds.toFixed(2)} s: ${(result.bytes / 1048576 / seconds).toFixed(1)} MiB/s`);
console.log(`checksum ${result.ok ? "OK" : "MISMATCH"}: ${result.actual}`);
await frontend.close();
process.exit(result.ok ? 0 : 1);
