/**
 * Our stack under test: a Bonito server whose app creates the bench observables, with the
 * connection chosen by the variant (WebRTCConnection on a backend, or WebSocketConnection),
 * and Node frontends that join it with `connectFrontend`.
 */
import { serve, WebSocketConnection, type BonitoServer, type Session } from "../../src/index.js";
import { WebRTCConnection } from "../../src/webrtc/index.js";
import { checkBackendName } from "../../src/webrtc/backends/index.js";
import { connectFrontend, type Frontend } from "../../src/frontend/node/index.js";
import { allObservableIds, bonitoEndpoint, type Endpoint } from "../shared/endpoint.js";
import type { TransportSpec } from "../shared/variants.js";

/** A served session that is ready (frontend loaded, connection open). */
export interface ServerPeer {
  session: Session;
  endpoint: Endpoint;
}

export class BonitoBenchServer {
  readonly peers: ServerPeer[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly server: BonitoServer) {}

  get url(): string {
    return this.server.url;
  }

  static async start(spec: Exclude<TransportSpec, { kind: "bare" | "framed" }>): Promise<BonitoBenchServer> {
    let bench!: BonitoBenchServer;
    const server = await serve(
      (session) => {
        for (const id of allObservableIds()) session.observable<unknown>(null, id);
        return "<h1>bench</h1>";
      },
      {
        connection: () =>
          spec.kind === "websocket"
            ? new WebSocketConnection()
            : new WebRTCConnection({ backend: checkBackendName(spec.backend) }),
        onSession: (session) => {
          const off = session.onReady(() => {
            off();
            const peer = { session, endpoint: bonitoEndpoint((id) => session.observable<unknown>(null, id), "server") };
            bench.peers.push(peer);
            void session.closed.then(() => {
              const i = bench.peers.indexOf(peer);
              if (i >= 0) bench.peers.splice(i, 1);
            });
            for (const w of [...bench.waiters]) w();
          });
        },
      },
    );
    bench = new BonitoBenchServer(server);
    return bench;
  }

  /** Resolves once `count` sessions are ready at the same time. */
  async waitPeers(count: number): Promise<void> {
    while (this.peers.length < count) {
      await new Promise<void>((resolve) => {
        const w = () => {
          this.waiters.delete(w);
          resolve();
        };
        this.waiters.add(w);
      });
    }
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

/** A Node frontend of our stack. */
export async function connectBonito(url: string, spec: Exclude<TransportSpec, { kind: "bare" | "framed" }>): Promise<{ endpoint: Endpoint; close(): Promise<void> }> {
  const frontend: Frontend = await connectFrontend(url, {
    ...(spec.kind === "webrtc" ? { webrtc: { backend: checkBackendName(spec.backend) } } : {}),
  });
  return {
    endpoint: bonitoEndpoint((id) => frontend.observable(id), "frontend"),
    close: () => frontend.close(),
  };
}
