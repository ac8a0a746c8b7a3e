/**
 * The server side of `npm run bench:networks`: the echo app over WebRTC on `--backend=`, on
 * every interface, relay-only through the TURN server in `--turn=<json iceServer>` when
 * given, with `--negotiation-timeout=<ms>` when given. Prints `READY <url>`; ends when stdin
 * closes.
 */
import { createInterface } from "node:readline";
import { serve } from "../../src/index.js";
import { WebRTCConnection, type IceServer } from "../../src/webrtc/index.js";
import { echoApp } from "../../test/helpers/echo-app.js";
import { backendFromArgv } from "../../test/helpers/backends.js";

const flag = (name: string) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const turn = flag("turn");
const timeout = flag("negotiation-timeout");
const backend = backendFromArgv();
const server = await serve(echoApp().app, {
  host: "0.0.0.0",
  logger: { warn() {}, error: console.error },
  connection: () =>
    new WebRTCConnection({
      backend,
      ...(turn ? { iceServers: [JSON.parse(turn) as IceServer], iceTransportPolicy: "relay" as const } : {}),
      ...(timeout ? { negotiationTimeoutMs: Number(timeout) } : {}),
    }),
});
console.log(`READY ${server.url}`);
createInterface({ input: process.stdin }).on("close", () => void server.close());
