/**
 * Where a frontend's connection to its session stands, and who waits for it to change:
 * `Bonito.connection_status()`, `on_status_change` and `wait_for_connection()` read it.
 */

/**
 * `connecting` → `open` ↔ `connecting` (reconnects) → `closed`. `open` means connected end
 * to end: the transport is up *and* the server's session is ready (its first frame after
 * our JSDoneLoading has arrived), not merely that the local transport opened.
 */
export type ConnectionStatus = "connecting" | "open" | "closed";

/** Told of each status change; `reason` says why, for `closed`. */
export type StatusListener = (status: ConnectionStatus, reason?: string) => void;

export class ConnectionState {
  private current: ConnectionStatus = "connecting";
  private reason: string | undefined;
  private readonly listeners = new Set<StatusListener>();
  private waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  get status(): ConnectionStatus {
    return this.current;
  }

  /** Why the connection closed; undefined while it has not. */
  get closeReason(): string | undefined {
    return this.reason;
  }

  /** The status is now `status`; `closed` is for good, and needs its reason. */
  set(status: "connecting" | "open"): void;
  set(status: "closed", reason: string): void;
  set(status: ConnectionStatus, reason?: string): void {
    if (this.current === status || this.current === "closed") return;
    this.current = status;
    if (status === "closed") this.reason = reason;
    if (status !== "connecting") {
      const waiters = this.waiters;
      this.waiters = [];
      for (const waiter of waiters) status === "open" ? waiter.resolve() : waiter.reject(this.closedError());
    }
    for (const listener of [...this.listeners]) listener(status, status === "closed" ? this.reason : undefined);
  }

  /** Be told of every change. Returns an unsubscribe function. */
  onChange(listener: StatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once `open`; rejects, with the reason, if the connection closes first. */
  whenOpen(): Promise<void> {
    if (this.current === "open") return Promise.resolve();
    if (this.current === "closed") return Promise.reject(this.closedError());
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private closedError(): Error {
    return new Error(`connection closed: ${this.reason ?? "connection closed"}`);
  }
}
