/**
 * The app most integration tests serve: whatever the frontend sets on `input` comes back
 * on `output`, and the server records what arrived in order.
 */
import type { Session } from "../../src/session/session.js";
import type { Observable } from "../../src/core/observable.js";

export interface EchoSession {
  session: Session;
  input: Observable<unknown>;
  output: Observable<unknown>;
  received: unknown[];
}

/** Returns the app and the sessions it created, newest last. */
export function echoApp(): { app: (session: Session) => string; sessions: EchoSession[] } {
  const sessions: EchoSession[] = [];
  const app = (session: Session) => {
    const input = session.observable<unknown>(null, "input");
    const output = session.observable<unknown>(null, "output");
    const entry: EchoSession = { session, input, output, received: [] };
    input.on((value) => {
      entry.received.push(value);
      void output.set(value).catch(() => {});
    });
    sessions.push(entry);
    return `<h1>echo</h1><div id="session">${session.id}</div>`;
  };
  return { app, sessions };
}
