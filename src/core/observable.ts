/**
 * A value shared between a session and its frontend. The same class serves the server
 * (`session.observable`) and the frontends (`Bonito.observable(id)` in the page,
 * `frontend.observable(id)` in Node); only the function that sends an update differs.
 */
import type { Logger } from "./logger.js";

/** Sends an update to the other side; resolves when the transport has taken it. */
export type UpdateSender = (id: string, value: unknown) => Promise<void>;

export type Listener<T> = (value: T) => void;

function ignore(): void {}

export class Observable<T = unknown> {
  private readonly listeners = new Set<Listener<T>>();

  constructor(
    /** Identifier shared by both sides. */
    readonly id: string,
    private current: T,
    private readonly sendUpdate: UpdateSender,
    /** Where a throwing listener is reported. */
    private readonly logger: Logger = console,
  ) {}

  /** The latest value, from either side. */
  get value(): T {
    return this.current;
  }

  /**
   * Change the value: local listeners fire, and the other side receives it once.
   * Resolves when the transport has taken the update, so awaiting it gives backpressure
   * to a producer that streams large values; rejects if the session closed first (safe to
   * ignore: an ignored rejection never ends the process).
   */
  set(value: T): Promise<void> {
    this.current = value;
    this.fire(value);
    const sent = this.sendUpdate(this.id, value);
    // Ignoring the promise is normal use (`a.on((v) => b.set(v))`): a rejection (the session
    // closed meanwhile) must not become an unhandled rejection that ends the process.
    // Awaiting it still reports the failure.
    sent.catch(ignore);
    return sent;
  }

  /**
   * Bonito's name for a change, for code written against Bonito's JavaScript
   * (`obs.notify(value)`): like {@link set}, or like a change from the other side when
   * `dontNotifyOtherSide` is true.
   */
  notify(value: T, dontNotifyOtherSide = false): void {
    if (dontNotifyOtherSide) this.receive(value);
    else void this.set(value);
  }

  /** Call `listener` on every later change (not at once). Returns an unsubscribe function. */
  on(listener: Listener<T>): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Apply a value that came from the other side: update and notify, without sending it
   * back (that would echo every change forever).
   * @internal
   */
  receive(value: T): void {
    this.current = value;
    this.fire(value);
  }

  /**
   * Take the value the other side registered this observable with: not a change, so no
   * listener fires.
   * @internal
   */
  register(value: T): void {
    this.current = value;
  }

  private fire(value: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (error) {
        // One failing listener must not starve the others or break message processing.
        this.logger.error(`bonito: listener of observable ${this.id} threw`, error);
      }
    }
  }
}
