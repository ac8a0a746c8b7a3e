/**
 * A plain HTTP GET with the headers a test chooses (fetch cannot set `Host`) and, optionally,
 * a local address to send from (any 127.x address is this host, and counts as another client).
 */
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";

export interface GetOptions {
  /** Sent as `accept` unless `headers` names one. Default `application/json` (a Node frontend's bootstrap). */
  accept?: string;
  headers?: Record<string, string>;
  localAddress?: string;
}

/** GETs `url` on a connection of its own; resolves with the status, the body as text, and the headers. */
export function httpGet(url: string, options: GetOptions = {}): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const headers = { accept: options.accept ?? "application/json", ...options.headers };
    const request = httpRequest(url, { localAddress: options.localAddress, headers, agent: false }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
    });
    request.on("error", reject);
    request.end();
  });
}
