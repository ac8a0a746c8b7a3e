/**
 * The frontend side of the WebSocket connection, shared by the browser (bundled as
 * `/bonito/websocket.js`, using the page's `WebSocket`) and the Node frontend (using
 * `ws`). It only talks to the runtime through {@link BonitoContract}.
 *
 * A clean close (the server ended the session, or the page went away) is final. An
 * abnormal drop (close code 1006) is retried with backoff for `retryWindowMs`, during
 * which the runtime queues what the page sends, as Bonito's own WebSocket glue does.
 */
import { DEFAULT_RECONNECT_WINDOW_MS } from "../core/constants.js";
import { deliverFrame, type BonitoContract } from "./contract.js";

/** The W3C WebSocket surface we use; the DOM's class and `ws`'s both fit. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: { data: any }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: any) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface WebSocketGlueOptions {
  WebSocket: WebSocketConstructor;
  compression: boolean;
  /** How long to keep retrying after an abnormal drop before giving up. */
  retryWindowMs?: number;
  /** First retry delay; doubles up to 8 s. */
  initialRetryDelayMs?: number;
}

/** Handle on a running WebSocket glue. */
export interface WebSocketGlue {
  /** Close cleanly: the server ends the session. */
  close(): void;
}

const OPEN = 1;
const ABNORMAL_CLOSURE = 1006;

/** Connect `bonito` to the session at `url` and keep it connected. */
export function connectWebSocket(url: string, bonito: BonitoContract, options: WebSocketGlueOptions): WebSocketGlue {
  const retryWindowMs = options.retryWindowMs ?? DEFAULT_RECONNECT_WINDOW_MS;
  const initialDelay = options.initialRetryDelayMs ?? 500;
  let socket: WebSocketLike | undefined;
  let everOpened = false;
  let closedByUs = false;
  let retryDeadline = 0;
  let retryDelay = initialDelay;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;

  const send = (bytes: Uint8Array): boolean => {
    if (!socket || socket.readyState !== OPEN) return false;
    socket.send(bytes);
    return true;
  };

  const connect = (): void => {
    const ws = new options.WebSocket(url);
    socket = ws;
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      retryDeadline = 0;
      retryDelay = initialDelay;
      bonito.on_connection_open(send, options.compression);
      // After a reconnect the server must hear again that this page is loaded.
      if (everOpened) bonito.Sessions.reannounce_initialized_sessions();
      everOpened = true;
    };
    ws.onmessage = (event) => deliverFrame(bonito, new Uint8Array(event.data as ArrayBuffer), options.compression);
    ws.onerror = () => {
      // The close event follows and decides what happens next.
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = undefined;
      if (closedByUs || event.code !== ABNORMAL_CLOSURE) {
        bonito.on_connection_close(event.reason || `the WebSocket closed (${event.code})`);
        return;
      }
      scheduleRetry();
    };
  };

  const scheduleRetry = (): void => {
    const now = Date.now();
    if (retryDeadline === 0) retryDeadline = now + retryWindowMs;
    if (now >= retryDeadline) {
      bonito.on_connection_close(`the connection dropped and did not come back within ${retryWindowMs} ms`);
      return;
    }
    bonito.on_connection_connecting();
    // Whoever heard that may have closed the glue meanwhile.
    if (closedByUs) return;
    const delay = Math.min(retryDelay, retryDeadline - now);
    retryDelay = Math.min(retryDelay * 2, 8000);
    retryTimer = setTimeout(connect, delay);
  };

  connect();
  return {
    close() {
      closedByUs = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      if (socket) socket.close(1000, "closed by the frontend");
      else bonito.on_connection_close("closed by the frontend");
    },
  };
}
