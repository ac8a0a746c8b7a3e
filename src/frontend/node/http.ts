/**
 * The Node frontend's own network access: the bootstrap request (HTTP or HTTPS, bounded in
 * size and time, following a few redirects) and the WebSocket class its connectors use,
 * both trusting the certificate authorities the caller passed as `ca`.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import WebSocket from "ws";
import { DEFAULT_MAX_FRAME_SIZE } from "../../core/constants.js";
import type { WebSocketConstructor } from "../websocket.js";

/** Certificate authorities to trust, as `tls.connect` takes them (PEM). */
export type TrustedCa = string | Buffer | Array<string | Buffer>;

/** The bootstrap embeds the initial frame as base64: allow one frame of the default size, and some. */
const MAX_BOOTSTRAP_BYTES = Math.ceil((DEFAULT_MAX_FRAME_SIZE * 4) / 3) + 64 * 1024;
const MAX_REDIRECTS = 5;

/** TLS errors whose cause is a certificate the client does not trust. */
const UNTRUSTED_CERTIFICATE = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
]);

/** GET `url` as JSON; rejects with an error that names the URL and the cause. */
export async function getJson(url: string, options: { ca?: TrustedCa; timeoutMs: number }): Promise<unknown> {
  const deadline = Date.now() + options.timeoutMs;
  let target = parseHttpUrl(url);
  for (let redirects = 0; ; redirects++) {
    const response = await get(target, options.ca, Math.max(1, deadline - Date.now()));
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location) {
      response.resume();
      if (redirects >= MAX_REDIRECTS) throw new Error(`bootstrap request to ${url} failed: more than ${MAX_REDIRECTS} redirects`);
      target = parseHttpUrl(new URL(location, target).href);
      continue;
    }
    const body = await readBody(response, url, Math.max(1, deadline - Date.now()));
    if (status < 200 || status >= 300) throw new Error(`bootstrap request to ${url} failed: HTTP ${status} ${body.slice(0, 500)}`);
    try {
      return JSON.parse(body);
    } catch {
      throw new Error(`bootstrap from ${url} is not JSON`);
    }
  }
}

/** The `ws` client class, trusting `ca` when given. */
export function webSocketClass(ca?: TrustedCa): WebSocketConstructor {
  if (ca === undefined) return WebSocket as unknown as WebSocketConstructor;
  return class TrustingWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, { ca });
    }
  } as unknown as WebSocketConstructor;
}

function parseHttpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`not an absolute URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error(`a session URL must be http:// or https://, got ${JSON.stringify(url)}`);
  return parsed;
}

function get(target: URL, ca: TrustedCa | undefined, timeoutMs: number): Promise<IncomingMessage> {
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(target, { method: "GET", headers: { accept: "application/json" }, ...(ca !== undefined ? { ca } : {}) });
    const timer = setTimeout(() => request.destroy(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
    request.once("response", (response) => {
      clearTimeout(timer);
      resolve(response);
    });
    request.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const hint = error.code && UNTRUSTED_CERTIFICATE.has(error.code) ? " (pass the server's certificate authority as connectFrontend(url, { ca }))" : "";
      reject(new Error(`bootstrap request to ${target.href} failed: ${error.message}${hint}`, { cause: error }));
    });
    request.end();
  });
}

function readBody(response: IncomingMessage, url: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => response.destroy(new Error(`the bootstrap did not arrive within ${timeoutMs} ms`)), timeoutMs);
    response.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BOOTSTRAP_BYTES) return response.destroy(new Error(`the bootstrap is larger than ${MAX_BOOTSTRAP_BYTES} bytes`));
      chunks.push(chunk);
    });
    response.once("end", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
    response.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`bootstrap request to ${url} failed: ${error.message}`, { cause: error }));
    });
  });
}
