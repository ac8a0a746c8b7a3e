/**
 * Browser bundle `/bonito/webrtc.js`: the page side of the WebRTC connection, on the
 * browser's own RTCPeerConnection, falling back to the session's WebSocket when WebRTC cannot
 * connect and the server offers that. A fallback is logged, kept in `BonitoWebRTC.fallback`
 * and shown in `Bonito.stats` (`transport`, `fallbackReason`); a failure is logged, kept in
 * `BonitoWebRTC.lastError` and announced as a `bonito:connection-error` event on `window`.
 * Closing the tab (or leaving the page) sends CLOSE, so the server ends the session at once.
 */
import { joinWebRTCSession, type FrontendSessionLink, type WebRTCFrontendConfig } from "../webrtc.js";
import { wrapW3CChannel } from "../../webrtc/channel/w3c-port.js";
import type { BonitoContract } from "../contract.js";
import { webSocketUrl } from "../../core/urls.js";
import type { WebSocketConstructor } from "../../signaling/client.js";

const BonitoWebRTC = {
  /** The live link, once connected (over WebRTC, or over the WebSocket after a fallback). */
  current: undefined as FrontendSessionLink | undefined,
  /** Why and when the page fell back to the WebSocket, if it did. */
  fallback: undefined as FrontendSessionLink["fallback"],
  /** Why the last attempt failed, if it did. */
  lastError: undefined as Error | undefined,
  /** Connect the page's session; the config's URLs may be relative, resolved against the page's location. */
  async connect(config: WebRTCFrontendConfig, bonito: BonitoContract): Promise<FrontendSessionLink | undefined> {
    const resolved: WebRTCFrontendConfig = {
      ...config,
      signalingUrl: webSocketUrl(location.href, config.signalingUrl),
      ...(config.fallback ? { fallback: { url: webSocketUrl(location.href, config.fallback.url) } } : {}),
    };
    try {
      const link = await joinWebRTCSession(resolved, bonito, {
        createPeerConnection: (iceServers, policy = "all") => {
          if (typeof RTCPeerConnection !== "function") throw new Error("this browser has no RTCPeerConnection (WebRTC is missing or turned off)");
          return new RTCPeerConnection({ iceServers, iceTransportPolicy: policy }) as never;
        },
        wrapChannel: (channel, pc) => wrapW3CChannel(channel as unknown as RTCDataChannel, pc as unknown as RTCPeerConnection),
        closePeerConnection: (pc) => (pc as unknown as RTCPeerConnection).close(),
        WebSocket: WebSocket as unknown as WebSocketConstructor,
      });
      BonitoWebRTC.current = link;
      if (link.fallback) {
        BonitoWebRTC.fallback = link.fallback;
        console.warn(`bonito: WebRTC could not connect (${link.fallback.reason}); continuing over the WebSocket`);
      }
      // A tab that closes or navigates away tells the server at once (the heartbeat would
      // take 8 s). Pages with an open peer connection are not kept in the back/forward
      // cache, so pagehide is the end of this page.
      window.addEventListener("pagehide", () => link.closeNow("the page was closed"), { once: true });
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
