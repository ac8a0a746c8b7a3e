/**
 * A connection written from outside the package, through its public API alone: frames go to
 * the page as Server-Sent Events (base64 text, one event per frame) and come back as HTTP
 * POSTs. It is slower than the built-in ones; it exists to show the whole plugin contract:
 * routing its own HTTP paths, shipping its own page script, and reporting what the transport
 * does with `deliver`, `opened` and `ended`.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { FrontendConnection, type BrowserAsset, type ConnectionBootstrap, type ConnectionHost, type Session } from "bonito-webrtc";

/** Largest frame a page may POST; a larger one ends the session. */
const MAX_POSTED_FRAME = 16 * 1024 * 1024;

export class EventStreamConnection extends FrontendConnection {
  readonly type = "event-stream";
  private base = "";
  private stream: ServerResponse | undefined;
  private unroute: (() => void) | undefined;

  protected async prepare(session: Session, host: ConnectionHost): Promise<ConnectionBootstrap> {
    // A secret in the path: knowing the session id is not enough to read or feed its stream.
    this.base = `/event-stream/${session.id}/${randomBytes(16).toString("hex")}/`;
    this.unroute = host.routeRequest(this.base, (request, response) => this.handle(request, response));
    return { type: this.type };
  }

  override browserAssets(): BrowserAsset[] {
    // This module runs compiled from dist/examples/custom-connection/; the page script is plain
    // JavaScript that is not compiled, so it is served from the source folder.
    return [{ name: "event-stream-link.js", file: new URL("../../../examples/custom-connection/event-stream-link.js", import.meta.url) }];
  }

  setupConnection(session: Session): string {
    return `BonitoEventStream.connect(${JSON.stringify(this.base)}, Bonito, ${session.compressionEnabled});`;
  }

  isOpen(): boolean {
    return this.stream !== undefined && !this.stream.writableEnded && !this.stream.destroyed;
  }

  write(frame: Uint8Array): Promise<void> {
    const stream = this.stream;
    if (!stream || !this.isOpen()) return Promise.reject(new Error("the page's event stream is not open"));
    return new Promise((resolve, reject) => {
      stream.write(`data: ${Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString("base64")}\n\n`, (error) =>
        error ? reject(error) : resolve(),
      );
    });
  }

  protected async doClose(): Promise<void> {
    this.unroute?.();
    this.stream?.end();
    this.stream = undefined;
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const action = request.url?.slice(this.base.length).split("?")[0];
    if (action === "events" && request.method === "GET") return this.openStream(request, response);
    if (action === "send" && request.method === "POST") return void this.receive(request, response);
    response.writeHead(404).end();
  }

  /** The page's EventSource: frames go out on it from now on. */
  private openStream(request: IncomingMessage, response: ServerResponse): void {
    if (this.stream) return void response.writeHead(409).end("already connected\n");
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
    response.flushHeaders();
    this.stream = response;
    request.on("close", () => {
      if (this.stream === response) void this.ended("the page's event stream closed");
    });
    this.opened();
  }

  /** One frame from the page; answered once the session has processed it, so the page's next POST follows it in order. */
  private async receive(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_POSTED_FRAME) {
        response.writeHead(413).end();
        await this.ended(`the page posted a frame larger than ${MAX_POSTED_FRAME} bytes`, new Error("frame too large"));
        return;
      }
      chunks.push(chunk);
    }
    await this.deliver(new Uint8Array(Buffer.concat(chunks)));
    response.writeHead(204).end();
  }
}
