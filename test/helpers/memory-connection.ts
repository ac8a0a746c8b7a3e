/**
 * A connection that carries frames in memory, for unit tests of the Session and of the
 * FrontendConnection contract (integration tests use real sockets and peers instead).
 */
import { FrontendConnection, type ConnectionBootstrap } from "../../src/session/connection.js";
import { encodeClientFrame, decodeServerEnvelope, type BonitoMessage, type ServerFrame } from "../../src/protocol/index.js";

export class MemoryConnection extends FrontendConnection {
  readonly type = "memory";
  /** Frames the session wrote, in order. */
  readonly written: Uint8Array[] = [];
  /** How many times doClose ran. */
  doCloseCalls = 0;
  /** When set, the next write fails with this error (the link breaking under it). */
  failNextWrite: Error | undefined;
  private linkOpen = false;

  protected async prepare(): Promise<ConnectionBootstrap> {
    return { type: this.type };
  }

  isOpen(): boolean {
    return this.linkOpen;
  }

  async write(frame: Uint8Array): Promise<void> {
    if (!this.linkOpen) throw new Error("memory link is down");
    const failure = this.failNextWrite;
    if (failure) {
      this.failNextWrite = undefined;
      this.linkOpen = false;
      throw failure;
    }
    this.written.push(frame);
  }

  setupConnection(): string | null {
    return null;
  }

  protected async doClose(): Promise<void> {
    this.doCloseCalls++;
    this.linkOpen = false;
  }

  // ---- what the "transport" does, driven by the test ----

  /** The link (re)opens. */
  connect(): void {
    this.linkOpen = true;
    this.opened();
  }

  /** The link drops without ending the session (a reconnect may follow). */
  disconnect(): void {
    this.linkOpen = false;
  }

  /** A frame from the frontend, as the frontend would encode `message`. */
  receive(message: BonitoMessage, compression = false): Promise<void> {
    return this.deliver(encodeClientFrame(message, compression));
  }

  /** Raw bytes from the frontend. */
  receiveBytes(bytes: Uint8Array): Promise<void> {
    return this.deliver(bytes);
  }

  /** The transport ends by itself. */
  end(reason: string, error?: Error): Promise<void> {
    return this.ended(reason, error);
  }

  /** The written frames, decoded as a frontend would. */
  decoded(compression = false): ServerFrame[] {
    return this.written.map((frame) => decodeServerEnvelope(frame, compression));
  }
}
