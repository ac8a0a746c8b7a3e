/**
 * The private line between a {@link Session} and the connection that carries it: how a
 * connection hands the session inbound frames and tells it that the transport opened. Kept
 * out of both classes' public surface so that only `FrontendConnection`'s protected helpers
 * reach it.
 */
import type { Session } from "./session.js";

/** What a session offers the connection that carries it. */
export interface SessionLink {
  /** Process one inbound frame; frames are handled one at a time, in order. */
  receive(frame: Uint8Array): Promise<void>;
  /** The transport (re)opened: send what was queued for it. */
  opened(): void;
  /** The transport now holds `bytes` for frames it has not delivered yet (partial or queued). */
  holding(bytes: number): void;
}

const links = new WeakMap<Session, SessionLink>();

/** Called once by each Session as it is created. */
export function registerSessionLink(session: Session, link: SessionLink): void {
  links.set(session, link);
}

/** The link of `session`. */
export function sessionLink(session: Session): SessionLink {
  const link = links.get(session);
  if (!link) throw new Error(`session ${session.id} has no link`);
  return link;
}
