/**
 * Who may talk to the server: the `Host` of every request and the `Origin` of every socket.
 *
 * - **Host** (DNS rebinding): a hostile page can make its own domain resolve to this server
 *   and then read it as same-origin. Its requests carry its domain in `Host`, so only host
 *   names the server knows are answered: IP addresses (which cannot be rebound), `localhost`
 *   and `*.localhost`, and those listed in `allowedHosts` (`.example.com` also allows every
 *   subdomain; `"*"` allows any name).
 * - **Origin** (cross-site sockets): browsers send the page's origin with every WebSocket;
 *   a socket is accepted from the server's own origin (the same host and port as `Host`, or
 *   the public origin behind a proxy: `publicUrl`, or `X-Forwarded-*` with `trustProxy`),
 *   from those listed in `allowedOrigins` (`"*"`: any), or with no `Origin` at all (not a
 *   browser, so no page to protect). `Origin: null` (sandboxed frames, files) is refused.
 */
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";

/** Which hosts and origins the server answers to. */
export interface RequestPolicy {
  /** Host names answered besides IP addresses and localhost; `"*"` for any. */
  allowedHosts: readonly string[] | "*";
  /** Page origins whose sockets are accepted besides the server's own; `"*"` for any. */
  allowedOrigins: readonly string[] | "*";
}

/** Why `request` may not be answered (naming the option that would allow it), or null. */
export function refuseHost(request: IncomingMessage, policy: RequestPolicy): string | null {
  const host = request.headers.host;
  if (!host) return "the request has no Host header";
  const name = hostName(host);
  if (name === null) return `the Host header ${JSON.stringify(host)} is not a host`;
  if (hostAllowed(name, policy.allowedHosts)) return null;
  return `the host ${JSON.stringify(name)} is not allowed: add it to serve({ allowedHosts })`;
}

/**
 * Why the socket `request` opens may not be accepted (naming the option that would allow it),
 * or null. `ownOrigin` is the server's origin as the request names it (behind a proxy: the
 * public one); without it, the `Host` header's.
 */
export function refuseOrigin(request: IncomingMessage, policy: RequestPolicy, ownOrigin?: string): string | null {
  const origin = request.headers.origin;
  if (origin === undefined || policy.allowedOrigins === "*") return null;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return `the Origin ${JSON.stringify(origin)} is not allowed`;
  }
  if (url.origin !== "null" && (url.host === request.headers.host?.toLowerCase() || url.origin === ownOrigin)) return null;
  if (policy.allowedOrigins.some((allowed) => sameOrigin(allowed, url))) return null;
  return `the Origin ${JSON.stringify(origin)} is not allowed: add it to serve({ allowedOrigins })`;
}

function sameOrigin(allowed: string, url: URL): boolean {
  try {
    return new URL(allowed).origin === url.origin;
  } catch {
    return false;
  }
}

/** The host name of a `Host` header (without port or IPv6 brackets), lowercase; null if malformed. */
function hostName(header: string): string | null {
  try {
    const { hostname } = new URL(`http://${header}`);
    return hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  } catch {
    return null;
  }
}

function hostAllowed(name: string, allowed: readonly string[] | "*"): boolean {
  if (allowed === "*" || isIP(name) !== 0 || name === "localhost" || name.endsWith(".localhost")) return true;
  return allowed.some((entry) => {
    const pattern = entry.toLowerCase();
    return pattern.startsWith(".") ? name === pattern.slice(1) || name.endsWith(pattern) : name === pattern;
  });
}
