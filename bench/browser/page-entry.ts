/**
 * The page side of the benchmarks, bundled to dist/bench/browser/bench-page.js (global
 * `BenchPage`). In a Bonito page it drives `window.Bonito`'s observables; in the bare page
 * it connects a native RTCDataChannel through our signaling client and negotiation code,
 * and nothing else. Either way the orchestrator then calls `BenchPage.op(name, args)`,
 * which runs the same EndpointDriver as the Node agents.
 */
import { connectSignaling, type WebSocketConstructor } from "../../src/signaling/client.js";
import { negotiateAsAnswerer, type SignalingPort } from "../../src/webrtc/negotiation.js";
import { EndpointDriver, type DriverOp } from "../shared/driver.js";
import { bonitoEndpoint, type ObservableLike } from "../shared/endpoint.js";
import { w3cBareEndpoint, type W3CChannel } from "../shared/bare-w3c.js";
import { framedEndpoint } from "../shared/framed-endpoint.js";
import { FramedChannel } from "../../src/webrtc/channel/framed-channel.js";
import { wrapW3CChannel } from "../../src/webrtc/channel/w3c-port.js";

interface BareConfig {
  sessionId: string;
  signalingUrl: string;
  token: string;
  timeoutMs: number;
  /** Wrap the channel in our FramedChannel (the diagnostic middle layer). */
  framed: boolean;
}

let driver: EndpointDriver | undefined;

const BenchPage = {
  /** ms from navigation start to the bare channel's open (the Bonito pages use an init script). */
  openAt: undefined as number | undefined,
  error: undefined as string | undefined,
  pc: undefined as RTCPeerConnection | undefined,

  /** Drive this page's Bonito runtime. */
  useBonito(): void {
    const bonito = (globalThis as unknown as { Bonito: { observable(id: string): ObservableLike } }).Bonito;
    driver = new EndpointDriver(bonitoEndpoint((id) => bonito.observable(id), "frontend"));
  },

  /** Join a bare server's room and answer its offer; the channel is the endpoint. */
  async connectBare(config: BareConfig): Promise<void> {
    try {
      const url = new URL(config.signalingUrl, location.href);
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      const signaling = await connectSignaling(url.href, {
        sessionId: config.sessionId,
        token: config.token,
        WebSocket: WebSocket as unknown as WebSocketConstructor,
        timeoutMs: config.timeoutMs,
      });
      const pc = new RTCPeerConnection({ iceServers: [] });
      BenchPage.pc = pc;
      try {
        const dc = await negotiateAsAnswerer(pc as never, signaling as unknown as SignalingPort, { timeoutMs: config.timeoutMs });
        BenchPage.openAt = performance.now();
        const channel = dc as unknown as RTCDataChannel;
        driver = new EndpointDriver(
          config.framed
            ? framedEndpoint(new FramedChannel(wrapW3CChannel(channel, pc)))
            : w3cBareEndpoint(channel as unknown as W3CChannel, () => pc.sctp?.maxMessageSize ?? 65536),
        );
      } finally {
        signaling.close();
      }
    } catch (error) {
      BenchPage.error = error instanceof Error ? error.message : String(error);
    }
  },

  ready(): boolean {
    return driver !== undefined;
  },

  op(name: DriverOp, args: unknown): unknown {
    if (!driver) throw new Error("BenchPage: no endpoint yet");
    return driver.op(name, args);
  },
};

(globalThis as unknown as { BenchPage: typeof BenchPage }).BenchPage = BenchPage;
