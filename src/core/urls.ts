/** URLs of a connection's endpoints, shared by the server connections and the frontends. */

/**
 * `path` resolved against `base` (a relative path stays below the base's path), with the
 * WebSocket scheme for an HTTP one: `http:` → `ws:`, `https:` → `wss:`; `ws:`/`wss:` stay.
 */
export function webSocketUrl(base: string | URL, path: string): string {
  const url = new URL(path, base);
  if (url.protocol === "https:") url.protocol = "wss:";
  else if (url.protocol === "http:") url.protocol = "ws:";
  return url.href;
}
