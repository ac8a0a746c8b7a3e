/**
 * One end of a benchmark connection, whatever carries it: a Bonito session (server side),
 * a Bonito frontend (page or Node), or a bare data channel. The scenario code in
 * transfer.ts only talks to this interface, so the same measurement runs on every
 * transport and in every process, including the page (this file is platform-free).
 */

/**
 * Logical streams. Over Bonito each is a pair of observables (`<channel>:down` written by
 * the server, `<channel>:up` written by the frontend); a bare channel has one stream and
 * ignores the name (scenarios use one channel at a time there).
 */
export type Channel = "data" | "ack" | "ping";

export const CHANNELS: readonly Channel[] = ["data", "ack", "ping"];

/**
 * How a sender learns to slow down. `transport`: `send()` resolves only once the
 * transport took the message (server-side `Observable.set`, bare channels respecting
 * bufferedAmount). `credit`: `send()` resolves at once (frontend-side `set`, which hands
 * the frame to the transport without waiting), so the benchmark adds an application-level
 * window acknowledged by the receiver on the `ack` channel.
 */
export type FlowControl = "transport" | "credit";

export interface Endpoint {
  readonly flow: FlowControl;
  /** Send one update (Bonito) or one application message (bare: fragmented to the peer's limit). */
  send(channel: Channel, data: Uint8Array): Promise<void>;
  /** Receive what the other end sends on `channel`. Returns an unsubscribe function. */
  on(channel: Channel, listener: (data: Uint8Array) => void): () => void;
}

/** The part of an observable the Bonito endpoints use (server Observable, runtime mirror). */
export interface ObservableLike {
  set(value: unknown): Promise<void>;
  on(listener: (value: any) => void): () => void;
}

/** Observable id for `channel` written by `writer`. */
export function observableId(channel: Channel, writer: "server" | "frontend"): string {
  return `${channel}:${writer === "server" ? "down" : "up"}`;
}

/** Every observable id the bench app creates, so frontends know them from the bootstrap. */
export function allObservableIds(): string[] {
  return CHANNELS.flatMap((c) => [observableId(c, "server"), observableId(c, "frontend")]);
}

/** An endpoint over Bonito observables (`observable(id)` is the session's or the runtime's lookup). */
export function bonitoEndpoint(observable: (id: string) => ObservableLike, role: "server" | "frontend"): Endpoint {
  const peer = role === "server" ? "frontend" : "server";
  return {
    flow: role === "server" ? "transport" : "credit",
    send: (channel, data) => observable(observableId(channel, role)).set(data),
    on: (channel, listener) =>
      observable(observableId(channel, peer)).on((value: unknown) => {
        if (value instanceof Uint8Array) listener(value);
      }),
  };
}

/** A byte count as 8 bytes (float64), for the `ack` channel. */
export function encodeCount(count: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, count, true);
  return bytes;
}

export function decodeCount(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(0, true);
}

/**
 * A bare endpoint from its one message sender and its inbound stream: sends go out one
 * after another, never interleaved (as FramedChannel's writes), and `send` resolves when
 * the message has been handed to the channel. Channels are ignored (a bare channel has one
 * stream).
 */
export function serialBareEndpoint(sendOne: (data: Uint8Array) => Promise<void>, inbound: Listeners): Endpoint {
  let tail: Promise<void> = Promise.resolve();
  return {
    flow: "transport",
    send(_channel, data) {
      const result = tail.then(() => sendOne(data));
      tail = result.catch(() => {});
      return result;
    },
    on: (_channel, listener) => inbound.add(listener),
  };
}

/** A simple listener set, for bare endpoints that have a single inbound stream. */
export class Listeners {
  private readonly set = new Set<(data: Uint8Array) => void>();

  add(listener: (data: Uint8Array) => void): () => void {
    this.set.add(listener);
    return () => this.set.delete(listener);
  }

  emit(data: Uint8Array): void {
    for (const listener of this.set) listener(data);
  }
}
