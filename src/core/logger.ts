/** Where the library reports what it cannot throw to a caller: `console` unless one is passed in. */
export interface Logger {
  error(...args: unknown[]): void;
  warn(...args: unknown[]): void;
}
