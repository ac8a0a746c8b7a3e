/**
 * Browser bundle `/bonito/runtime.js`: installs `window.Bonito`, the page's runtime.
 * The page passes the initial frame as base64 text, since it is inlined in HTML.
 */
import { BonitoRuntime } from "../runtime.js";
import { fromBase64 } from "../../core/base64.js";

class BrowserRuntime extends BonitoRuntime {
  override init_session(
    sessionId: string,
    init: string | Uint8Array | null,
    kind: "root" | "sub" = "root",
    compression = false,
  ): void {
    super.init_session(sessionId, typeof init === "string" ? fromBase64(init) : init, kind, compression);
  }
}

const bonito = new BrowserRuntime();
(globalThis as unknown as { Bonito: BrowserRuntime }).Bonito = bonito;
// A page that goes away closes its sockets with "going away", which the server reads as a clean close.
