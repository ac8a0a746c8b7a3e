/**
 * `npm run demo:custom`: a counter app served over EventStreamConnection, a connection that
 * lives outside the package and uses only its public API (`import ... from "bonito-webrtc"`).
 */
import { registerConnection, serve } from "bonito-webrtc";
import { EventStreamConnection } from "./event-stream-connection.js";

registerConnection(() => new EventStreamConnection(), { name: "event-stream" });

const server = await serve(
  (session) => {
    const count = session.observable(0, "count");
    const doubled = session.observable(0, "doubled");
    count.on((n) => void doubled.set(n * 2).catch(() => {}));
    return `<button id="plus" onclick="Bonito.observable('count').set(Bonito.observable('count').value + 1)">+1</button>
<output id="doubled"></output>
<script type="module">Bonito.observable("doubled").on((v) => (document.getElementById("doubled").textContent = String(v)));</script>`;
  },
  { port: Number(process.env.PORT ?? 0), title: "a custom connection" },
);
console.log(`custom connection demo: ${server.url}`);

const stop = () => void server.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
