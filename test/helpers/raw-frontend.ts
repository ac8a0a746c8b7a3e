/**
 * A frontend driven by hand over a real WebSocket: it fetches a session's bootstrap like a
 * Node frontend, then sends whatever bytes a test (or an attacker) chooses.
 */
import WebSocket from "ws";
import { encodeClientFrame, type BonitoMessage } from "../../src/protocol/index.js";

/** The parts of a session bootstrap a raw frontend needs. */
export interface RawBootstrap {
  sessionId: string;
  compression: boolean;
  connection: { type: string; url?: string; signalingUrl?: string; token?: string };
}

/** Fetches the JSON bootstrap of a new session; rejects with the status and body on an HTTP error. */
export async function fetchRawBootstrap(url: string, headers: Record<string, string> = {}): Promise<RawBootstrap> {
  const response = await fetch(url, { headers: { accept: "application/json", ...headers } });
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  return (await response.json()) as RawBootstrap;
}

/** Opens a WebSocket; rejects with the HTTP status when the upgrade is refused. */
export function openSocket(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_request, response) => {
      reject(new Error(`HTTP ${response.statusCode}`));
      ws.terminate();
    });
    ws.once("error", reject);
  });
}

/** A raw frontend connected to one session over its WebSocket. */
export interface RawFrontend {
  bootstrap: RawBootstrap;
  ws: WebSocket;
  /** Encodes and sends a message (compressed when the session is). */
  send(message: BonitoMessage): void;
  /**
   * Sends the JSDoneLoading that makes the session ready; resolves with the server's first
   * frame after it (a session that becomes ready always sends one), rejects if it closes first.
   */
  sendLoaded(): Promise<Uint8Array>;
  /** Resolves with the next frame the server sends, rejects if the socket closes first. */
  nextMessage(): Promise<Uint8Array>;
  /** Resolves with the close code and reason once the socket has closed. */
  closed: Promise<{ code: number; reason: string }>;
}

/** Creates a session at `url` and connects to its WebSocket. */
export async function rawFrontend(url: string): Promise<RawFrontend> {
  const bootstrap = await fetchRawBootstrap(url);
  if (bootstrap.connection.type !== "websocket" || !bootstrap.connection.url) {
    throw new Error(`expected a WebSocket session, got ${bootstrap.connection.type}`);
  }
  const ws = await openSocket(bootstrap.connection.url);
  ws.on("error", () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const send = (message: BonitoMessage) => ws.send(encodeClientFrame(message, bootstrap.compression));
  const nextMessage = () =>
    new Promise<Uint8Array>((resolve, reject) => {
      const onMessage = (data: Buffer) => {
        ws.off("close", onClose);
        resolve(new Uint8Array(data));
      };
      const onClose = () => {
        ws.off("message", onMessage);
        reject(new Error("the socket closed"));
      };
      ws.once("message", onMessage);
      ws.once("close", onClose);
    });
  return {
    bootstrap,
    ws,
    send,
    sendLoaded: () => {
      const ready = nextMessage();
      send({ msg_type: "8", session: bootstrap.sessionId, message: "", exception: "nothing", stacktrace: "" });
      return ready;
    },
    nextMessage,
    closed,
  };
}
