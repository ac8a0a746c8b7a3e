/**
 * The registry that picks a connection for each new session (Bonito's
 * `register_connection!`): the newest registration whose factory answers wins, and the
 * WebSocket connection is there from the start as the oldest, so it answers when nothing
 * newer does.
 */
import { BonitoError } from "../core/errors.js";
import type { FrontendConnection } from "../session/connection.js";
import { WebSocketConnection } from "../websocket/connection.js";

/** A factory returns a fresh connection, or `null` to let an older registration answer. */
export type ConnectionFactory = () => FrontendConnection | null;

interface Registration {
  name: string;
  factory: ConnectionFactory;
}

/** No registered factory produced a connection. Code `no-connection`. */
export class NoConnectionError extends BonitoError<"no-connection"> {
  constructor(names: string[]) {
    super(
      "no-connection",
      names.length === 0
        ? "no connection factory is registered: call registerConnection(factory) first"
        : `no registered connection factory answered (asked, newest first: ${names.join(", ")}); every factory returned null`,
    );
  }
}

const registrations: Registration[] = [{ name: "websocket", factory: () => new WebSocketConnection() }];
let forcedFactory: ConnectionFactory | null = null;
let anonymousCount = 0;

/**
 * Register a connection factory. Newer registrations are asked first; registering an
 * existing `name` replaces that registration in place (keeping its priority).
 */
export function registerConnection(factory: ConnectionFactory, options: { name?: string } = {}): void {
  const name = options.name ?? `anonymous-${++anonymousCount}`;
  const existing = registrations.findIndex((r) => r.name === name);
  if (existing >= 0) registrations[existing] = { name, factory };
  else registrations.push({ name, factory });
}

/** Remove a registration by name (the built-in one is called `websocket`). Returns whether one was removed. */
export function unregisterConnection(name: string): boolean {
  const index = registrations.findIndex((r) => r.name === name);
  if (index < 0) return false;
  registrations.splice(index, 1);
  return true;
}

/** Names of the registrations, oldest first. */
export function registeredConnections(): string[] {
  return registrations.map((r) => r.name);
}

/**
 * Make every new session use `factory` regardless of the registry, or restore the
 * registry's choice with `null`.
 */
export function forceConnection(factory: ConnectionFactory | null): void {
  forcedFactory = factory;
}

/**
 * The connection for a new session: the forced factory if set, otherwise the newest
 * registration whose factory returns non-null.
 */
export function defaultConnection(): FrontendConnection {
  if (forcedFactory) {
    const forced = forcedFactory();
    if (!forced) throw new NoConnectionError(["the forced factory"]);
    return forced;
  }
  for (let i = registrations.length - 1; i >= 0; i--) {
    const connection = registrations[i]!.factory();
    if (connection) return connection;
  }
  throw new NoConnectionError(registrations.map((r) => r.name).reverse());
}
