/**
 * Bare data channels for the baselines: a server peer and a Node frontend that use our
 * signaling server and client and src/webrtc/negotiation.ts, with the same peer
 * connection settings as WebRTCConnection (src/webrtc/backends.ts), and then nothing of
 * ours: no framing, no session, no protocol. The server also serves the page a browser
 * frontend loads (the bench page bundle connects the same way). With `framed`, the
 * channel is wrapped in our FramedChannel (the diagnostic middle layer).
 */
import { createServer, type Server } from "node:http";
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import WebSocket from "ws";
import { SignalingServer, connectSignaling, type WebSocketConstructor } from "../../src/signaling/index.js";
import { negotiateAsOfferer, negotiateAsAnswerer, type DataChannelLike, type PeerConnectionLike, type SignalingPort } from "../../src/webrtc/negotiation.js";
import { checkBackendName, loadBackend, type WebRTCBackend } from "../../src/webrtc/backends/index.js";
import type { Endpoint } from "../shared/endpoint.js";
import { w3cBareEndpoint, type W3CChannel } from "../shared/bare-w3c.js";
import { weriftBareEndpoint } from "./bare-werift.js";
import { framedEndpoint } from "../shared/framed-endpoint.js";
import { FramedChannel } from "../../src/webrtc/channel/framed-channel.js";
import { closeWithin } from "./util.js";

export const PAGE_BUNDLE = new URL("../browser/bench-page.js", import.meta.url);

/** What a bare frontend needs (the bare analogue of Bonito's JSON bootstrap). */
export interface BareBootstrap {
  sessionId: string;
  signalingUrl: string;
  token: string;
  timeoutMs: number;
  /** Wrap the channel in a FramedChannel (both ends must). */
  framed: boolean;
}

/** An open bare channel. */
export interface BarePeer {
  endpoint: Endpoint;
  close(): Promise<void>;
}

const NEGOTIATION_TIMEOUT_MS = 15_000;

/** The endpoint for a channel of `backend` (werift's own API, or the W3C one of a polyfill). */
function bareEndpoint(backend: string, dc: DataChannelLike, pc: PeerConnectionLike): Endpoint {
  if (backend === "werift") return weriftBareEndpoint(dc as never);
  const sctp = () => (pc as unknown as { sctp?: { maxMessageSize?: number } | null }).sctp?.maxMessageSize ?? 65536;
  return w3cBareEndpoint(dc as unknown as W3CChannel, sctp);
}

/** The peer for an open channel: bare, or wrapped in our FramedChannel. */
function peerFor(platform: WebRTCBackend, framed: boolean, dc: DataChannelLike, pc: PeerConnectionLike): BarePeer {
  if (framed) {
    const channel = new FramedChannel(platform.wrapChannel(dc, pc));
    return { endpoint: framedEndpoint(channel), close: () => channel.close("bench done") };
  }
  return { endpoint: bareEndpoint(platform.name, dc, pc), close: () => closeBare(platform, dc, pc) };
}

/** Channel first (the peer notices its close at once), then the connection; bounded. */
async function closeBare(platform: WebRTCBackend, dc: DataChannelLike, pc: PeerConnectionLike): Promise<void> {
  try {
    dc.close();
  } catch {
    // already closing
  }
  await closeWithin(
    new Promise<void>((resolve) => {
      if (dc.readyState === "closed") return resolve();
      dc.addEventListener("close", () => resolve());
    }),
    1000,
  );
  platform.closePeerConnection(pc);
}

export class BareServer {
  readonly peers: BarePeer[] = [];
  private readonly waiters = new Set<() => void>();
  private constructor(
    private readonly http: Server,
    private readonly signaling: SignalingServer,
    readonly url: string,
  ) {}

  /** Serve on a free port: `GET /` opens a room and returns its bootstrap (JSON) or a page (HTML). */
  static async start(backend: string, framed = false): Promise<BareServer> {
    const http = createServer();
    const signaling = new SignalingServer({ mode: "attached", httpServer: http, path: "/bare-signaling" });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
    const server = new BareServer(http, signaling, url);
    http.on("request", (request, response) => {
      server.handle(backend, framed, request.url ?? "/", request.headers.accept ?? "").then(
        ({ type, body }) => {
          response.writeHead(200, { "content-type": type, "cache-control": "no-store" });
          response.end(body);
        },
        (error: Error) => {
          response.writeHead(500, { "content-type": "text/plain" });
          response.end(error.message);
        },
      );
    });
    return server;
  }

  private async handle(backend: string, framed: boolean, path: string, accept: string): Promise<{ type: string; body: string | Buffer }> {
    if (path === "/bench-page.js") return { type: "text/javascript", body: await readFile(PAGE_BUNDLE) };
    if (path === "/favicon.ico") return { type: "image/x-icon", body: "" };
    const bootstrap = await this.openRoom(backend, framed);
    if (accept.includes("application/json")) return { type: "application/json", body: JSON.stringify(bootstrap) };
    const config = { ...bootstrap, signalingUrl: new URL(bootstrap.signalingUrl).pathname };
    return {
      type: "text/html; charset=utf-8",
      body: `<!doctype html><html><head><meta charset="utf-8"><title>bare</title>
<script src="/bench-page.js"></script></head><body>
<script>BenchPage.connectBare(${JSON.stringify(config)});</script></body></html>`,
    };
  }

  /** A room, and the offerer that waits in it for the frontend. */
  private async openRoom(backend: string, framed: boolean): Promise<BareBootstrap> {
    const sessionId = randomUUID();
    const room = await this.signaling.openRoom(sessionId);
    const platform = await loadBackend(checkBackendName(backend));
    room.onFrontendJoined(() => {
      const pc = platform.createPeerConnection([]);
      negotiateAsOfferer(pc, room, { timeoutMs: NEGOTIATION_TIMEOUT_MS }).then(
        (dc) => {
          room.close();
          this.peers.push(peerFor(platform, framed, dc, pc));
          for (const w of [...this.waiters]) w();
        },
        () => {
          room.close();
          platform.closePeerConnection(pc);
        },
      );
    });
    return { sessionId, signalingUrl: room.url, token: room.token, timeoutMs: NEGOTIATION_TIMEOUT_MS, framed };
  }

  /** Resolves once `count` peers have connected. */
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

  async close(): Promise<void> {
    await Promise.all(this.peers.map((p) => closeWithin(p.close(), 2000)));
    await closeWithin(this.signaling.close(), 1000);
    this.http.closeAllConnections();
    await closeWithin(new Promise<void>((resolve) => this.http.close(() => resolve())), 1000);
  }
}

/** A Node frontend on a bare channel: fetch the bootstrap, join, answer, done. */
export async function connectBare(url: string, backend: string): Promise<BarePeer> {
  const response = await fetch(url, { headers: { accept: "application/json" } });
  const bootstrap = (await response.json()) as BareBootstrap;
  const signaling = await connectSignaling(bootstrap.signalingUrl, {
    sessionId: bootstrap.sessionId,
    token: bootstrap.token,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    timeoutMs: bootstrap.timeoutMs,
  });
  const platform = await loadBackend(checkBackendName(backend));
  const pc = platform.createPeerConnection([]);
  try {
    const dc = await negotiateAsAnswerer(pc, signaling as unknown as SignalingPort, { timeoutMs: bootstrap.timeoutMs });
    return peerFor(platform, bootstrap.framed, dc, pc);
  } catch (error) {
    platform.closePeerConnection(pc);
    throw error;
  } finally {
    signaling.close();
  }
}
