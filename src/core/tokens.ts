/**
 * Secrets handed to one frontend (signaling room tokens, WebSocket session secrets): creation
 * and constant-time comparison. The one Node-only module of `core/` (it uses `node:crypto`);
 * nothing the browser bundles import reaches it.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** Random bytes per token: 256 bits, well above the 128-bit minimum. */
export const TOKEN_BYTES = 32;

/** A fresh random token, base64url without padding (43 characters). */
export function createToken(): string {
  return randomBytes(TOKEN_BYTES).toString("base64url");
}

/**
 * SHA-256 of a token. The server compares digests, so that both sides of the
 * comparison always have the same length whatever a client sends.
 */
export function digestToken(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** Whether `presented` is the token whose digest is `expected`, in time independent of the contents. */
export function tokenMatches(expected: Buffer, presented: string): boolean {
  // timingSafeEqual throws on different lengths; digests are always 32 bytes.
  return timingSafeEqual(expected, digestToken(presented));
}
