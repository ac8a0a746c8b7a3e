/**
 * The node-datachannel backend: libdatachannel (C++) through node-datachannel's W3C-style
 * polyfill, behind the same negotiation and framing code as werift, and several times
 * faster. node-datachannel is an optional dependency, loaded only when asked for.
 *
 * node-datachannel 0.33.4 facts this module relies on (read in
 * node_modules/node-datachannel/src and libdatachannel's sources, measured on loopback):
 * - It advertises `a=max-message-size` (we set 256 KiB, like werift) and `send` throws
 *   "Message size exceeds limit" above the remote's limit, which `pc.sctp.maxMessageSize`
 *   reports once connected; the browser port fragments at that. Messages arrive as
 *   ArrayBuffer (`binaryType` "arraybuffer"). `send` copies its argument.
 * - It gathers no loopback candidates: same-machine peers meet on a LAN address, and on a
 *   host with only `lo` it gathers none at all, so there we bind ICE to 127.0.0.1.
 *   Local candidates come as SDP lines (`a=candidate:...`); the negotiation strips `a=`.
 * - `dc.close()` reaches the peer in ~1 ms; `pc.close()` also closes the peer's channel
 *   and connection within milliseconds (unlike werift's).
 * - The process exits only once its native callbacks are released: see lifetime.ts.
 * - A message and the channel's close that reach JavaScript in the same turn of the event
 *   loop lose the message: each event has its own native queue, the close's is drained
 *   first, and it releases the channel, which cancels the message still queued. Our close
 *   handshake never closes a channel while frames are in flight; a peer that sends and
 *   vanishes at once (a page being unloaded) can lose its last message this way.
 *
 * DTLS roles. The polyfill ignores the SDP given to setLocalDescription (libdatachannel
 * writes its own offer and answer), so roles are steered through the answerer:
 * - As offerer it offers `a=setup:actpass`, as RFC 5763 requires (aiortc refuses any
 *   other offer), and asks the frontend for an `active` answer (`answerSetup`), which
 *   makes it the DTLS server. As DTLS client it would send its first flight the moment
 *   its ICE connects, and a werift answerer, which drops DTLS until its own ICE check has
 *   succeeded, loses it: 1 s retransmit. Being the server also keeps clear of a
 *   libdatachannel race where the client verifies the server's certificate before the
 *   answer's fingerprint is stored (see DEFAULT_CANDIDATE_HOLD_MS in negotiation.ts, which
 *   closes that race for both roles). An answerer that picks `passive` anyway still works.
 * - As answerer it stays the DTLS client (`active`, its own choice); the negotiation sends
 *   the answer it really uses. It cannot be the server for werift anyway: werift numbers
 *   its channel as the DTLS server would (odd stream) before it knows its role, and
 *   libdatachannel as server rejects that channel.
 */
import { networkInterfaces } from "node:os";
import { wrapW3CChannel } from "../../channel/w3c-port.js";
import type { PeerConnectionOptions, WebRTCBackend } from "../backend.js";
import type { DataChannelLike, PeerConnectionLike } from "../../negotiation.js";
import { ADVERTISED_MAX_MESSAGE_SIZE, type IceServer } from "../../options.js";
import { NativeLifetime } from "./lifetime.js";

/** What this module uses of `node-datachannel/polyfill` (declared here: the package is optional). */
interface PolyfillModule {
  RTCPeerConnection: new (config: Record<string, unknown>) => PolyfillPeerConnection;
  RTCError: unknown;
}

interface PolyfillPeerConnection extends PeerConnectionLike<PolyfillDataChannel> {
  close(): void;
}

interface PolyfillDataChannel extends DataChannelLike {
  addEventListener(type: "open" | "close", listener: () => void, options?: { once?: boolean }): void;
}

/** What this module uses of `node-datachannel` itself. */
interface NativeModule {
  cleanup(): void;
}

/** Imports a module by name; replaceable in tests. */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

// A variable specifier, so TypeScript does not need node-datachannel's types to build.
const importModule: ModuleImporter = (specifier) => import(specifier);

/**
 * Loads node-datachannel and returns the backend. Rejects with "node-datachannel is not
 * installed: npm install node-datachannel" when the package is missing, and with the
 * loader's own message when it is there but its native addon does not load.
 */
export async function loadNdcBackend(importer: ModuleImporter = importModule): Promise<WebRTCBackend> {
  let polyfill: PolyfillModule;
  let native: NativeModule;
  try {
    polyfill = (await importer("node-datachannel/polyfill")) as PolyfillModule;
    native = (await importer("node-datachannel")) as NativeModule;
  } catch (error) {
    throw loadError(error);
  }
  provideRTCError(polyfill);
  return createNdcBackend(polyfill, new NativeLifetime(() => native.cleanup()));
}

function loadError(error: unknown): Error {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === "string" ? message : String(error);
  // ERR_MODULE_NOT_FOUND also names missing dependencies of an installed package; only this one is "not installed".
  if (code === "ERR_MODULE_NOT_FOUND" && text.includes("'node-datachannel'")) {
    return new Error("node-datachannel is not installed: npm install node-datachannel", { cause: error });
  }
  return new Error(`node-datachannel could not be loaded: ${text}`, { cause: error });
}

/**
 * The polyfill's data channel reports native errors with `new RTCError(...)` but does not
 * import RTCError, so the first channel error would throw a ReferenceError out of a native
 * callback and end the process. Give it the polyfill's own class, unless one exists.
 */
function provideRTCError(polyfill: PolyfillModule): void {
  const scope = globalThis as { RTCError?: unknown };
  if (scope.RTCError === undefined) scope.RTCError = polyfill.RTCError;
}

function createNdcBackend(polyfill: PolyfillModule, lifetime: NativeLifetime): WebRTCBackend {
  const PeerConnection = ndcPeerConnectionClass(polyfill.RTCPeerConnection, lifetime);
  return {
    name: "node-datachannel",
    answerSetup: "active",
    createPeerConnection(iceServers: IceServer[], { policy = "all" }: PeerConnectionOptions = {}) {
      return new PeerConnection({
        // A copy: the polyfill rewrites the entries it is given.
        iceServers: iceServers.map((server) => ({ ...server })),
        iceTransportPolicy: policy,
        maxMessageSize: ADVERTISED_MAX_MESSAGE_SIZE,
        ...(hasNetworkInterface() ? {} : { bindAddress: "127.0.0.1" }),
      });
    },
    wrapChannel(channel, pc, options) {
      // The polyfill follows the W3C API closely enough for the browser port.
      return wrapW3CChannel(channel as unknown as RTCDataChannel, pc as unknown as RTCPeerConnection, options);
    },
    closePeerConnection(pc) {
      (pc as PolyfillPeerConnection).close();
    },
  };
}

/**
 * The polyfill's RTCPeerConnection, adjusted for us: it offers as DTLS server (see the
 * module comment), closes its data channels before itself so their native callbacks are
 * released, and tells `lifetime` when a connection is made and closed.
 */
function ndcPeerConnectionClass(Base: PolyfillModule["RTCPeerConnection"], lifetime: NativeLifetime) {
  return class NdcPeerConnection extends Base {
    private readonly channels = new Set<PolyfillDataChannel>();
    private closeCalled = false;

    constructor(config: Record<string, unknown>) {
      super(config);
      lifetime.opened();
      this.addEventListener("datachannel", (event) => this.track(event.channel));
    }

    override createDataChannel(label: string, init?: { ordered?: boolean }): PolyfillDataChannel {
      const channel = super.createDataChannel(label, init);
      this.track(channel);
      return channel;
    }

    override close(): void {
      if (this.closeCalled) return;
      this.closeCalled = true;
      // A channel closed only through its connection keeps the process alive (ndc-lifetime.ts).
      for (const channel of this.channels) {
        try {
          channel.close();
        } catch {
          // Already closed natively; nothing left to release.
        }
      }
      this.channels.clear();
      try {
        super.close();
      } finally {
        lifetime.closed();
      }
    }

    private track(channel: PolyfillDataChannel): void {
      if (channel.readyState === "closed") return;
      this.channels.add(channel);
      channel.addEventListener("close", () => this.channels.delete(channel), { once: true });
    }
  };
}

/** Whether this host has an address besides loopback and IPv6 link-local (where libdatachannel gathers candidates). */
function hasNetworkInterface(): boolean {
  return Object.values(networkInterfaces()).some((addresses) =>
    addresses?.some((address) => !address.internal && !(address.family === "IPv6" && address.scopeid)),
  );
}
