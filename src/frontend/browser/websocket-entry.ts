/** Browser bundle `/bonito/websocket.js`: the page side of the WebSocket connection. */
import { connectWebSocket, type WebSocketGlue, type WebSocketConstructor } from "../websocket.js";
import type { BonitoContract } from "../contract.js";
import { webSocketUrl } from "../../core/urls.js";

const BonitoWebSocket = {
  /** The running glue, so a page (or a test) can close it. */
  current: undefined as WebSocketGlue | undefined,
  /** Connect to `path` (resolved against the page's location, ws/wss by its scheme). */
  connect(path: string, bonito: BonitoContract, compression: boolean): WebSocketGlue {
    bonito.set_transport?.("websocket");
    const glue = connectWebSocket(webSocketUrl(location.href, path), bonito, { WebSocket: WebSocket as unknown as WebSocketConstructor, compression });
    BonitoWebSocket.current = glue;
    return glue;
  },
};
(globalThis as unknown as { BonitoWebSocket: typeof BonitoWebSocket }).BonitoWebSocket = BonitoWebSocket;
