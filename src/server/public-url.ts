/**
 * The URLs a frontend can reach. A server bound to `0.0.0.0` is reached at whatever address
 * the frontend used, and behind a reverse proxy at the proxy's address and scheme; so every
 * URL handed to a frontend is derived per request: from the request's `Host` and the
 * socket's TLS, from `X-Forwarded-Proto`/`X-Forwarded-Host` when the proxy is trusted, or
 * from a fixed `publicUrl` that wins over both.
 */
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";

/** How the server learns its public address. */
export interface PublicUrlOptions {
  /** The app's public URL (e.g. `https://example.org/app/`); when set, requests do not change it. */
  publicUrl?: URL;
  /** Believe `X-Forwarded-Proto` and `X-Forwarded-Host` (only behind a proxy that sets them). */
  trustProxy: boolean;
  /** Path the app is mounted at, with leading and trailing slash. */
  path: string;
}

/** Longest `Host` we accept (a DNS name is at most 253 characters, plus a port). */
const MAX_HOST_LENGTH = 260;
/** A DNS name or IPv4 address, or a bracketed IPv6 address, with an optional port. */
const HOST_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** A request whose `Host` (or forwarded host) is missing or malformed. */
export class BadHostError extends Error {
  constructor(what: string, value: string | undefined) {
    super(value === undefined ? `the request has no ${what} header` : `the request's ${what} header is not a host: ${JSON.stringify(value.slice(0, 80))}`);
    this.name = "BadHostError";
  }
}

/**
 * Parse and check `serve()`'s `publicUrl`: an absolute http(s) URL without query or
 * fragment; the result always ends with a slash.
 */
export function parsePublicUrl(value: string | URL): URL {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new TypeError(`publicUrl must be an absolute URL, got ${JSON.stringify(String(value))}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`publicUrl must start with http:// or https://, got ${JSON.stringify(url.href)}`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new TypeError(`publicUrl must not carry a query, fragment or credentials: ${JSON.stringify(url.href)}`);
  }
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url;
}

/**
 * Normalise a mount path: leading and trailing slash, no `.`/`..` segments, no query.
 * `""` and `"/"` mean the root.
 */
export function normaliseMountPath(path: string | undefined): string {
  if (path === undefined || path === "" || path === "/") return "/";
  const url = new URL(path, "http://host/");
  if (url.host !== "host" || url.search || url.hash) throw new TypeError(`path must be a plain URL path, got ${JSON.stringify(path)}`);
  return url.pathname.endsWith("/") ? url.pathname : `${url.pathname}/`;
}

/**
 * The base URL (with trailing slash) at which the frontend that sent `request` reaches
 * the app. Throws {@link BadHostError} when the request names no usable host.
 */
export function requestBaseUrl(request: IncomingMessage, options: PublicUrlOptions): URL {
  if (options.publicUrl) return new URL(options.publicUrl.href);
  const encrypted = (request.socket as { encrypted?: boolean }).encrypted === true;
  let scheme = encrypted ? "https" : "http";
  let host = singleHeader(request.headers.host);
  if (options.trustProxy) {
    const proto = firstListValue(request.headers["x-forwarded-proto"])?.toLowerCase();
    if (proto === "http" || proto === "https") scheme = proto;
    const forwardedHost = firstListValue(request.headers["x-forwarded-host"]);
    if (forwardedHost !== undefined) {
      if (!isHost(forwardedHost)) throw new BadHostError("X-Forwarded-Host", forwardedHost);
      host = forwardedHost;
    }
  }
  if (host === undefined) throw new BadHostError("Host", undefined);
  if (!isHost(host)) throw new BadHostError("Host", host);
  return new URL(`${scheme}://${host}${options.path}`);
}

/**
 * The URL to print for a listening server: `publicUrl` if set; for a wildcard address
 * (`0.0.0.0`, `::`) this machine's first address that other machines can reach (loopback
 * when it has none); otherwise the address it listens on. Never `0.0.0.0`.
 */
export function listeningUrl(address: AddressInfo, tls: boolean, options: Pick<PublicUrlOptions, "publicUrl" | "path">): URL {
  if (options.publicUrl) return new URL(options.publicUrl.href);
  const scheme = tls ? "https" : "http";
  const host = isWildcard(address.address) ? reachableAddress(address.family) : address.address;
  const hostForUrl = host.includes(":") ? `[${host}]` : host;
  return new URL(`${scheme}://${hostForUrl}:${address.port}${options.path}`);
}

function isWildcard(address: string): boolean {
  return address === "0.0.0.0" || address === "::" || address === "::0";
}

/** The first non-internal address (IPv4 first; IPv6 too when listening on `::`), else loopback. */
function reachableAddress(family: string): string {
  const all = Object.values(networkInterfaces()).flatMap((entries) => entries ?? []);
  const external = all.filter((entry) => !entry.internal && !(entry.family === "IPv6" && entry.scopeid));
  const ipv4 = external.find((entry) => entry.family === "IPv4");
  if (ipv4) return ipv4.address;
  const ipv6 = family === "IPv6" ? external.find((entry) => entry.family === "IPv6") : undefined;
  if (ipv6) return ipv6.address;
  return family === "IPv6" ? "::1" : "127.0.0.1";
}

function isHost(value: string): boolean {
  return value.length > 0 && value.length <= MAX_HOST_LENGTH && HOST_PATTERN.test(value) && validPort(value);
}

function validPort(host: string): boolean {
  const port = /:(\d+)$/.exec(host.startsWith("[") ? host.slice(host.indexOf("]")) : host)?.[1];
  return port === undefined || (Number(port) > 0 && Number(port) <= 65_535);
}

function singleHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The first entry of a comma-separated header (proxies append theirs). */
function firstListValue(value: string | string[] | undefined): string | undefined {
  const first = singleHeader(value)?.split(",")[0]?.trim();
  return first === "" ? undefined : first;
}
