/**
 * What a new session's frontend starts from: the JSON bootstrap a Node frontend fetches, and
 * the same data the HTML page embeds.
 */
import { toBase64 } from "../core/base64.js";
import { MessageType, encodeServerFrame, type BonitoMessage } from "../protocol/index.js";
import type { ConnectionBootstrap } from "../session/connection.js";
import type { Session } from "../session/session.js";

/** The JSON bootstrap a non-browser frontend receives. */
export interface SessionBootstrap {
  sessionId: string;
  compression: boolean;
  /** Base64 server frame with the initial values of the session's observables, or null. */
  init: string | null;
  /** How to reach the session: `type` names the connection, the rest is that connection's. */
  connection: ConnectionBootstrap;
}

/** The bootstrap of `session`, once its connection is attached and `app` has run. */
export function sessionBootstrap(session: Session, connection: ConnectionBootstrap): SessionBootstrap {
  return { sessionId: session.id, compression: session.compressionEnabled, init: initialFrame(session), connection };
}

/**
 * The observables `app` created, with their values, as one server frame (base64) whose
 * session cache registers them, so the page has them before it connects.
 */
function initialFrame(session: Session): string | null {
  const cache = session.takeAnnouncements();
  if (cache.length === 0) return null;
  const empty: BonitoMessage = { msg_type: MessageType.FusedMessage, payload: [] };
  return toBase64(encodeServerFrame(session.id, empty, session.compressionEnabled, { cache }));
}
