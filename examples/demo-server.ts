/**
 * `npm start`: the demo server. Registers WebRTCConnection (the WebSocket connection stays
 * registered underneath as the fallback), serves the demo on 127.0.0.1:8080 (`PORT` and
 * `HOST` override; `PORT=0` picks a free port; `BACKEND=node-datachannel` picks the faster
 * Node WebRTC stack), and stops cleanly on Ctrl-C.
 */
import { registerConnection, serve } from "../src/index.js";
import { WebRTCConnection, type BackendName } from "../src/webrtc/index.js";
import { demoApp } from "./demo-app.js";

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? "127.0.0.1";
// CONNECTION=websocket shows the same demo over the fallback.
if (process.env.CONNECTION !== "websocket") {
  const backend = (process.env.BACKEND || undefined) as BackendName | undefined;
  registerConnection(() => new WebRTCConnection({ backend }), { name: "webrtc" });
}

const server = await serve(demoApp, { port, host, title: "bonito-webrtc demo" });
console.log(`bonito-webrtc demo: open ${server.url} in a browser (Ctrl-C stops)`);
console.log(`Node peer: npm run demo:peer -- ${server.url}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log("stopping…");
  await server.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
