/**
 * What a new session's frontend starts from: the JSON bootstrap a Node frontend fetches, and
 * the same data the HTML page embeds.
 */
import { toBase64 } from "../core/base64.js";
import { encodeInitFrame } from "../protocol/index.js";
import type { ConnectionBootstrap } from "../session/connection.js";
import type { Session } from "../session/session.js";

/** The JSON bootstrap a non-browser frontend receives. */
export interface SessionBootstrap {
  sessionId: string;
  compression: boolean;
  /**
   * Base64 of the session's initial frame, or null when there is nothing to send: Bonito's
   * layout, an array of the messages sent before the page was served, with the observables
   * created so far in its cache. The frontend hands it to `init_session`.
   */
  init: string | null;
  /** How to reach the session: `type` names the connection, the rest is that connection's. */
  connection: ConnectionBootstrap;
}

/** The bootstrap of `session`, once its connection is attached and `app` has run. */
export function sessionBootstrap(session: Session, connection: ConnectionBootstrap): SessionBootstrap {
  return { sessionId: session.id, compression: session.compressionEnabled, init: initialFrame(session), connection };
}

/** The initial frame (base64): what `app` sent and the observables it created. */
function initialFrame(session: Session): string | null {
  const { cache, messages } = session.takeInitialMessages();
  if (cache.length === 0 && messages.length === 0) return null;
  return toBase64(encodeInitFrame(session.id, messages, session.compressionEnabled, { cache }));
}
