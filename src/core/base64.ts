/**
 * Base64 for Uint8Array that works in Node and in browsers (no Buffer). Encoding goes chunk by
 * chunk, so neither `String.fromCharCode` nor `btoa` ever sees more than one chunk.
 */

/** Bytes per chunk: a multiple of 3, so the chunks' base64 texts concatenate without padding in between. */
const CHUNK = 3 * 10_922;

export function toBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += CHUNK) {
    parts.push(btoa(String.fromCharCode(...bytes.subarray(i, i + CHUNK))));
  }
  return parts.join("");
}

export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
