/**
 * The base of every error this package throws on purpose. Each carries a stable `code`, so
 * callers branch on `error.code` instead of parsing messages (which may be reworded).
 * Platform-free: the browser bundles use it too.
 */
export class BonitoError<Code extends string = string> extends Error {
  /** Stable, machine-readable kind of failure; documented with each error class. */
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The message of any thrown value, for error texts. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `value` as an Error (wrapping anything else that was thrown). */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
