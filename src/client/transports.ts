/**
 * Connection types a Node frontend can speak, keyed by the bootstrap's `connection.type`.
 * WebSocket is built in; the WebRTC module adds `webrtc` when imported.
 */
import WebSocket from "ws";
import type { BonitoContract } from "../frontend/contract.js";
import type { SessionBootstrap } from "../server.js";
import { connectWebSocket, type WebSocketConstructor } from "../websocket/glue.js";

/** A running frontend-side transport. */
export interface FrontendTransport {
  /** Close cleanly; resolves once the transport is down. */
  close(): Promise<void>;
  /** Why it closed, once it has. */
  closeReason?(): string | undefined;
}

export interface FrontendTransportContext {
  bootstrap: SessionBootstrap;
  bonito: BonitoContract;
  timeoutMs: number;
  options: Record<string, unknown>;
}

export type FrontendTransportFactory = (context: FrontendTransportContext) => Promise<FrontendTransport>;

export const frontendTransports = new Map<string, FrontendTransportFactory>();

/** Teach Node frontends a connection type. */
export function registerFrontendTransport(type: string, factory: FrontendTransportFactory): void {
  frontendTransports.set(type, factory);
}

registerFrontendTransport("websocket", async ({ bootstrap, bonito }) => {
  let closeReason: string | undefined;
  let resolveDown!: () => void;
  const down = new Promise<void>((resolve) => (resolveDown = resolve));
  // Watch the runtime's close so close() can wait until the socket is really gone.
  const watched: BonitoContract = {
    ...bindContract(bonito),
    on_connection_close: () => {
      closeReason ??= "the server closed the connection";
      bonito.on_connection_close();
      resolveDown();
    },
  };
  const glue = connectWebSocket(String(bootstrap.connection.url), watched, {
    WebSocket: WebSocket as unknown as WebSocketConstructor,
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
});

/** The contract's methods bound to the runtime, so they can be spread into a wrapper. */
function bindContract(bonito: BonitoContract): BonitoContract {
  return {
    on_connection_open: bonito.on_connection_open.bind(bonito),
    on_connection_connecting: bonito.on_connection_connecting.bind(bonito),
    on_connection_close: bonito.on_connection_close.bind(bonito),
    lock_loading: bonito.lock_loading.bind(bonito),
    process_message: bonito.process_message.bind(bonito),
    decode_binary: bonito.decode_binary.bind(bonito),
    Sessions: bonito.Sessions,
  };
}
