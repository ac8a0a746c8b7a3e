/**
 * The demo app: one page that shows what carries the session (badge, round-trip time,
 * bytes both ways), a slider whose value Node turns into a plot, and file transfers both
 * ways with SHA-256 verdicts. The Node peer (`peer.ts`) speaks the same upload protocol.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Session } from "../src/index.js";

/** Chunk size of transfers: small enough for smooth progress, large enough to amortize per-message cost. */
export const CHUNK_BYTES = 256 * 1024;
/** The uploader keeps at most this much unacknowledged data in flight. */
export const UPLOAD_WINDOW_BYTES = 4 * 1024 * 1024;

/** Messages on the `upload` observable, frontend → server. */
export type UploadMessage =
  | { kind: "start"; name: string; size: number }
  | { kind: "chunk"; data: Uint8Array }
  | { kind: "end"; sha256: string };

/** The server's verdict on an upload, on `upload-result`. */
export interface UploadResult {
  ok: boolean;
  name: string;
  bytes: number;
  expected: string;
  actual: string;
  seconds: number;
}

/** Messages on the `download` observable, server → frontend. */
export type DownloadMessage =
  | { kind: "start"; size: number }
  | { kind: "chunk"; data: Uint8Array }
  | { kind: "end"; sha256: string; seconds: number };

const PAGE_SCRIPT = readFileSync(new URL("../../examples/public/demo-page.js", import.meta.url), "utf8");
const PAGE_STYLE = readFileSync(new URL("../../examples/public/demo.css", import.meta.url), "utf8");

/** Samples of a damped wave of `frequency`, the plot the page draws. */
export function wave(frequency: number, samples = 600): Float32Array {
  const ys = new Float32Array(samples);
  for (let i = 0; i < samples; i++) {
    const x = (i / (samples - 1)) * 4;
    ys[i] = Math.sin(2 * Math.PI * frequency * x * 0.25) * Math.exp(-0.35 * x);
  }
  return ys;
}

/** Builds one session of the demo. */
export function demoApp(session: Session): string {
  session.observable(session.connection.type, "connection-type");

  // Round trip: the page stamps a ping, we send the same stamp back.
  const ping = session.observable<number>(0, "ping");
  const pong = session.observable<number>(0, "pong");
  ping.on((stamp) => void pong.set(stamp).catch(() => {}));

  // Slider → plot, computed here so the round trip is visible.
  const frequency = session.observable<number>(3, "frequency");
  const plot = session.observable<Float32Array>(wave(3), "plot");
  frequency.on((f) => void plot.set(wave(Number(f))).catch(() => {}));

  receiveUploads(session);
  serveDownloads(session);
  return `<style>${PAGE_STYLE}</style>
<main>
  <header>
    <h1>bonito-webrtc demo</h1>
    <span id="badge" class="badge">…</span>
    <span id="status" class="status">connecting</span>
  </header>
  <section class="stats">
    <div><span class="label">round trip</span><span id="rtt">–</span></div>
    <div><span class="label">sent</span><span id="sent">0 B</span></div>
    <div><span class="label">received</span><span id="received">0 B</span></div>
  </section>
  <section>
    <h2>Node computes the plot</h2>
    <label>frequency <input id="frequency" type="range" min="1" max="20" step="0.5" value="3"> <output id="frequency-value">3</output></label>
    <canvas id="plot" width="600" height="200"></canvas>
  </section>
  <section>
    <h2>Upload to Node</h2>
    <div id="dropzone" class="dropzone">drop a file here or <input id="file" type="file"></div>
    <progress id="upload-progress" max="1" value="0"></progress>
    <div id="upload-verdict" class="verdict"></div>
  </section>
  <section>
    <h2>Download from Node</h2>
    <label>size (MiB) <input id="download-size" type="number" min="1" max="512" value="8"></label>
    <button id="download">download from Node</button>
    <progress id="download-progress" max="1" value="0"></progress>
    <div id="download-verdict" class="verdict"></div>
  </section>
</main>
<script type="module">${PAGE_SCRIPT}</script>`;
}

/** Receives `upload` messages, hashes as data arrives, acknowledges progress, and judges the checksum. */
function receiveUploads(session: Session): void {
  const upload = session.observable<UploadMessage | null>(null, "upload");
  const received = session.observable<number>(0, "upload-received");
  const result = session.observable<UploadResult | null>(null, "upload-result");
  let hash = createHash("sha256");
  let name = "";
  let bytes = 0;
  let started = 0;
  let lastAck = 0;
  upload.on((message) => {
    if (!message) return;
    if (message.kind === "start") {
      hash = createHash("sha256");
      name = message.name;
      bytes = 0;
      lastAck = 0;
      started = Date.now();
      void received.set(0).catch(() => {});
    } else if (message.kind === "chunk") {
      hash.update(message.data);
      bytes += message.data.length;
      // Acknowledge every MiB (and the end): the uploader's window moves on these.
      if (bytes - lastAck >= 1024 * 1024) {
        lastAck = bytes;
        void received.set(bytes).catch(() => {});
      }
    } else if (message.kind === "end") {
      const actual = hash.digest("hex");
      void received.set(bytes).catch(() => {});
      const seconds = (Date.now() - started) / 1000;
      void result.set({ ok: actual === message.sha256, name, bytes, expected: message.sha256, actual, seconds }).catch(() => {});
    }
  });
}

/** Streams a generated file of the requested size, awaiting each chunk so memory stays bounded. */
function serveDownloads(session: Session): void {
  const request = session.observable<number>(0, "download-request");
  const download = session.observable<DownloadMessage | null>(null, "download");
  let busy = false;
  request.on(async (mib) => {
    if (busy || !(mib > 0)) return;
    busy = true;
    try {
      const size = Math.min(512, Math.floor(mib)) * 1024 * 1024;
      const hash = createHash("sha256");
      const started = Date.now();
      await download.set({ kind: "start", size });
      for (let sent = 0; sent < size; sent += CHUNK_BYTES) {
        const data = new Uint8Array(randomBytes(Math.min(CHUNK_BYTES, size - sent)));
        hash.update(data);
        await download.set({ kind: "chunk", data });
      }
      await download.set({ kind: "end", sha256: hash.digest("hex"), seconds: (Date.now() - started) / 1000 });
    } catch {
      // The session closed mid-download; nothing left to tell.
    } finally {
      busy = false;
    }
  });
}
