/** Deterministic test data and small waiting helpers shared by the tests. */
import type { Observable } from "../../src/core/observable.js";

/** `size` pseudo-random bytes from `seed` (xorshift), so a mismatch is reproducible. */
export function patternBytes(size: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** Resolves with the next value `observable` receives; rejects after `timeoutMs`. */
export function nextValue<T>(observable: Observable<T>, timeoutMs = 20_000, what = observable.id): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no update of ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = observable.on((value) => {
      clearTimeout(timer);
      off();
      resolve(value);
    });
  });
}

/** Resolves once `predicate()` holds, polling; rejects after `timeoutMs` with `what`. */
export async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Rejects with `what` if `promise` does not settle within `timeoutMs`. */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs);
    }),
  ]);
}

export const KiB = 1024;
export const MiB = 1024 * 1024;

/**
 * Asserts `values` is exactly 0, 1, …, count−1, with a short message. (A deepEqual on a
 * list that may hold stray megabyte payloads would print a diff of gigabytes.)
 */
export function assertCountingSequence(values: readonly unknown[], count: number, what: string): void {
  const firstWrong = values.findIndex((value, index) => value !== index);
  if (values.length !== count || firstWrong !== -1) {
    const shown = firstWrong === -1 ? "" : `; first out of place at index ${firstWrong}: ${describeBriefly(values[firstWrong])}`;
    throw new Error(`${what}: expected 0..${count - 1} in order, got ${values.length} values${shown}`);
  }
}

function describeBriefly(value: unknown): string {
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.byteLength} bytes)`;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
