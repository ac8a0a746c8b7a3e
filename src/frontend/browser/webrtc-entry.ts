/**
 * Browser bundle `/bonito/webrtc.js`: the page side of the WebRTC connection, on the
 * browser's own RTCPeerConnection. Failures are logged, kept in `BonitoWebRTC.lastError`
 * and announced as a `bonito:connection-error` event on `window`.
 */
import { connectWebRTCFrontend, type WebRTCFrontendConfig, type WebRTCFrontendLink } from "../webrtc.js";
import { wrapW3CChannel } from "../../webrtc/channel/w3c-port.js";
import type { BonitoContract } from "../contract.js";
import type { WebSocketConstructor } from "../../signaling/client.js";

const BonitoWebRTC = {
  /** The live link, once connected. */
  current: undefined as WebRTCFrontendLink | undefined,
  /** Why the last attempt failed, if it did. */
  lastError: undefined as Error | undefined,
  /** Connect the page's session; `config.signalingUrl` may be a path, resolved against the page's location. */
  async connect(config: WebRTCFrontendConfig, bonito: BonitoContract): Promise<WebRTCFrontendLink | undefined> {
    const url = new URL(config.signalingUrl, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    try {
      const link = await connectWebRTCFrontend({ ...config, signalingUrl: url.href }, bonito, {
        createPeerConnection: (iceServers) => new RTCPeerConnection({ iceServers }) as never,
        wrapChannel: (channel, pc) => wrapW3CChannel(channel as unknown as RTCDataChannel, pc as unknown as RTCPeerConnection),
        closePeerConnection: (pc) => (pc as unknown as RTCPeerConnection).close(),
        WebSocket: WebSocket as unknown as WebSocketConstructor,
      });
      BonitoWebRTC.current = link;
      return link;
    } catch (error) {
      const problem = error instanceof Error ? error : new Error(String(error));
      BonitoWebRTC.lastError = problem;
      console.error(`bonito: WebRTC connection failed: ${problem.message}`);
      window.dispatchEvent(new CustomEvent("bonito:connection-error", { detail: problem }));
      return undefined;
    }
  },
};
(globalThis as unknown as { BonitoWebRTC: typeof BonitoWebRTC }).BonitoWebRTC = BonitoWebRTC;
