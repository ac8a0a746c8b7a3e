/**
 * Short-lived TURN credentials from a shared secret (the "TURN REST API" scheme, coturn's
 * `use-auth-secret` / `static-auth-secret`). The server and the TURN relay share a secret;
 * each session gets a username that carries its expiry time and a password that is the
 * HMAC of that username, which the relay checks without any database. The secret never
 * leaves the server, and a credential copied out of a page stops working when it expires.
 */
import { createHmac } from "node:crypto";
import type { IceServer } from "./options.js";

/** Options for {@link turnCredentials}. */
export interface TurnCredentialOptions {
  /** The relay's URL(s), e.g. `turn:turn.example.org:3478?transport=udp`. */
  urls: string | string[];
  /** The secret configured on the relay (`static-auth-secret` in coturn). */
  secret: string;
  /**
   * How long the credential is valid, in seconds. Default 86,400 (a day). The relay checks
   * it on every request, allocation refreshes included: a relayed session that outlives it
   * loses its relay, so keep it longer than your sessions last.
   */
  ttlSeconds?: number;
  /** Who the credential is for (logged by the relay), e.g. the session id. Must not contain `:`. */
  user?: string;
  /** Current time in ms since the epoch (for tests). Default `Date.now()`. */
  now?: number;
}

/** Default validity of a credential, as the TURN REST API draft recommends. */
export const DEFAULT_TURN_CREDENTIAL_TTL_SECONDS = 86_400;

/**
 * One `iceServers` entry with a fresh credential: username `<expiry>:<user>` (expiry in
 * Unix seconds), credential `base64(HMAC-SHA1(secret, username))`.
 */
export function turnCredentials(options: TurnCredentialOptions): IceServer {
  const ttl = options.ttlSeconds ?? DEFAULT_TURN_CREDENTIAL_TTL_SECONDS;
  if (!Number.isFinite(ttl)) throw new TypeError(`ttlSeconds must be a number, got ${String(options.ttlSeconds)}`);
  if (typeof options.secret !== "string" || options.secret.length === 0) throw new TypeError("the TURN shared secret must be a non-empty string");
  const user = options.user ?? "bonito";
  if (user.includes(":")) throw new TypeError(`the TURN user must not contain ":", got ${JSON.stringify(user)}`);
  const expiry = Math.floor((options.now ?? Date.now()) / 1000 + ttl);
  const username = `${expiry}:${user}`;
  const credential = createHmac("sha1", options.secret).update(username).digest("base64");
  return { urls: options.urls, username, credential };
}
