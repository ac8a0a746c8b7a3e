/**
 * Which sessions a frontend hosts and which cached objects each of them tracks, as Bonito
 * v5's `Sessions.js` keeps them: the root session, and the sub-sessions the server puts into
 * the page (UpdateSession). An object stays cached while any session tracks it; freeing a
 * session (the server's `free_session`) forgets what only it tracked.
 */

/**
 * "root"; "sub" while a sub-session initializes; "delete" once it may be closed from the page;
 * "closing" once the page asked the server to close it.
 */
export type FrontendSessionStatus = "root" | "sub" | "delete" | "closing";

interface Entry {
  status: FrontendSessionStatus;
  tracked: Set<string>;
}

export class FrontendSessions {
  private readonly sessions = new Map<string, Entry>();
  /** Sessions that finished initializing, in order: announced again after a reconnect. */
  private readonly initialized = new Set<string>();

  /** Registers `id` unless known. */
  ensure(id: string, status: "root" | "sub"): void {
    if (!this.sessions.has(id)) this.sessions.set(id, { status, tracked: new Set() });
  }

  has(id: string): boolean {
    return this.sessions.has(id);
  }

  status(id: string): FrontendSessionStatus | undefined {
    return this.sessions.get(id)?.status;
  }

  /** Records that session `id` uses the cached object `key`. */
  track(id: string, status: "root" | "sub", key: string): void {
    this.ensure(id, status);
    this.sessions.get(id)!.tracked.add(key);
  }

  /** The session finished loading: it is announced again after reconnects, and a sub-session may now be closed from the page. */
  markInitialized(id: string): void {
    const entry = this.sessions.get(id);
    if (!entry) return;
    this.initialized.add(id);
    if (entry.status === "sub") entry.status = "delete";
  }

  /** Initialized sessions that still exist, root first. */
  initializedSessions(): string[] {
    return [...this.initialized].filter((id) => this.sessions.has(id));
  }

  /** A sub-session the page removed: true when it should be reported to the server (once). */
  takeClosable(id: string): boolean {
    const entry = this.sessions.get(id);
    if (!entry || entry.status !== "delete") return false;
    entry.status = "closing";
    this.initialized.delete(id);
    return true;
  }

  /** Sub-session ids that may be closed from the page. */
  closableSessions(): string[] {
    return [...this.sessions].filter(([, entry]) => entry.status === "delete").map(([id]) => id);
  }

  /**
   * Forgets session `id`. Returns the keys no remaining session tracks, which the caller
   * drops from its cache.
   */
  free(id: string): string[] {
    const entry = this.sessions.get(id);
    if (!entry) return [];
    this.sessions.delete(id);
    this.initialized.delete(id);
    return [...entry.tracked].filter((key) => ![...this.sessions.values()].some((other) => other.tracked.has(key)));
  }
}
