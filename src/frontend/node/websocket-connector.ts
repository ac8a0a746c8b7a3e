/** The Node frontend's side of the WebSocket connection: the page's glue, on the `ws` package. */
import type { WebSocketBootstrap } from "../../websocket/connection.js";
import type { BonitoContract } from "../contract.js";
import { connectWebSocket } from "../websocket.js";
import { webSocketClass } from "./http.js";
import type { ConnectorContext, FrontendLink } from "./types.js";

export async function connectWebSocketFrontend({ bootstrap, bonito, options }: ConnectorContext): Promise<FrontendLink> {
  const announced = bootstrap.connection as WebSocketBootstrap;
  let closeReason: string | undefined;
  let resolveDown!: () => void;
  const down = new Promise<void>((resolve) => (resolveDown = resolve));
  // Watch the runtime's close so close() can wait until the socket is really gone.
  const watched: BonitoContract = {
    on_connection_open: bonito.on_connection_open.bind(bonito),
    on_connection_connecting: bonito.on_connection_connecting.bind(bonito),
    lock_loading: bonito.lock_loading.bind(bonito),
    process_message: bonito.process_message.bind(bonito),
    decode_binary: bonito.decode_binary.bind(bonito),
    Sessions: bonito.Sessions,
    on_connection_close: (reason?: string) => {
      closeReason ??= reason ?? "the server closed the connection";
      bonito.on_connection_close(closeReason);
      resolveDown();
    },
  };
  bonito.set_transport?.("websocket");
  const glue = connectWebSocket(announced.url, watched, {
    WebSocket: webSocketClass(options.ca),
    compression: bootstrap.compression,
  });
  return {
    async close() {
      closeReason ??= "closed by the frontend";
      glue.close();
      await down;
    },
    closeReason: () => closeReason,
  };
}
