/**
 * A diagnostic middle layer: our FramedChannel (framing, batching, backpressure,
 * heartbeat) over the backend's port, with no Session, protocol or runtime above it.
 * Comparing bare → framed → ours splits our overhead into transport and session costs.
 */
import type { FramedChannel } from "../../src/webrtc/channel/framed-channel.js";
import { Listeners, type Endpoint } from "./endpoint.js";

export function framedEndpoint(channel: FramedChannel): Endpoint {
  const inbound = new Listeners();
  channel.onFrame((frame) => inbound.emit(frame));
  return {
    flow: "transport",
    // write() resolves once the frame is handed to the data channel: backpressure, as set() on a server.
    send: (_channel, data) => channel.write(data),
    on: (_channel, listener) => inbound.add(listener),
  };
}
