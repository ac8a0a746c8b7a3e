/**
 * Browser bundle `/bonito/webrtc.js`: the page side of the WebRTC connection, on the
 * browser's own RTCPeerConnection. Failures are logged, kept in `BonitoWebRTC.lastError`
 * and announced as a `bonito:connection-error` event on `window`.
 */
import { connectWebRTCFrontend, type WebRTCFrontendConfig, type WebRTCFrontendLink } from "../webrtc.js";
import { wrapW3CChannel } from "../../webrtc/channel/w3c-port.js";
import type { BonitoContract } from "../contract.js";
import { webSocketUrl } from "../../core/urls.js";
import type { WebSocketConstructor } from "../../signaling/client.js";

const BonitoWebRTC = {
  /** The live link, once connected. */
  current: undefined as WebRTCFrontendLink | undefined,
  /** Why the last attempt failed, if it did. */
  lastError: undefined as Error | undefined,
  /** Connect the page's session; `config.signalingUrl` may be relative, resolved against the page's location. */
  async connect(config: WebRTCFrontendConfig, bonito: BonitoContract): Promise<WebRTCFrontendLink | undefined> {
    try {
      const link = await connectWebRTCFrontend({ ...config, signalingUrl: webSocketUrl(location.href, config.signalingUrl) }, bonito, {
        createPeerConnection: (iceServers, policy = "all") => new RTCPeerConnection({ iceServers, iceTransportPolicy: policy }) as never,
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
