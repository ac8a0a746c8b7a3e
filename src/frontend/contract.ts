/**
 * The part of Bonito's JS runtime that a connection's glue code may use. Our runtime
 * implements it, and so does Bonito's own `window.Bonito`, so glue written against this
 * interface runs on both.
 */
export interface BonitoContract {
  on_connection_open(send: (bytes: Uint8Array) => unknown, compressionEnabled: boolean, enablePings?: boolean): void;
  on_connection_connecting(): void;
  /** `reason` is ours: Bonito's own runtime ignores the argument. */
  on_connection_close(reason?: string): void;
  lock_loading(task: () => unknown): unknown;
  process_message(message: any): void;
  decode_binary(bytes: Uint8Array, compression: boolean): any;
  Sessions: { reannounce_initialized_sessions(): void };
  /**
   * Ours (Bonito's runtime lacks it, hence optional): which transport carries the session,
   * and why the connection fell back to it if it did. Shown in the runtime's `stats`.
   */
  set_transport?(transport: string, fallbackReason?: string): void;
}

/** Hands one inbound frame to the runtime: decoded and processed in order, under the loading lock. */
export function deliverFrame(bonito: BonitoContract, bytes: Uint8Array, compression: boolean): void {
  bonito.lock_loading(() => bonito.process_message(bonito.decode_binary(bytes, compression)));
}
