/** The HTML page a browser gets for a new session: runtime, connection scripts, the app's body. */
import { ASSET_PATH_PREFIX } from "../core/constants.js";
import type { BrowserAsset } from "../session/connection.js";
import type { Session } from "../session/session.js";
import { RUNTIME_ASSET } from "./assets.js";
import type { SessionBootstrap } from "./bootstrap.js";

export interface PageParts {
  session: Session;
  bootstrap: SessionBootstrap;
  /** The connection's scripts, loaded after the runtime. */
  assets: readonly BrowserAsset[];
  /** What `app` returned: HTML for the body. */
  body: string;
  title: string;
}

/**
 * The page, laid out as Bonito v5 lays out its own: the runtime and the connection's scripts
 * are ES modules, and so are the scripts that call them, so everything runs in document order
 * once the page is parsed and works with Bonito's runtime (an ES module) as with ours. The
 * initial frame (an array of messages) goes to `Bonito.init_session(id, bytes, "root",
 * compression)` as bytes; the connection's setup runs last. Scripts in the app's HTML that use
 * `Bonito` must be module scripts too.
 */
export function renderPage({ session, bootstrap, assets, body, title }: PageParts): string {
  const scripts = [RUNTIME_ASSET, ...assets].map((asset) => `<script type="module" src="${ASSET_PATH_PREFIX.slice(1)}${asset.name}"></script>`).join("\n");
  const init = `Bonito.init_session(${JSON.stringify(session.id)}, ${initBytes(bootstrap.init)}, "root", ${session.compressionEnabled});`;
  const setup = session.connection.setupConnection(session) ?? "";
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
${scripts}
</head><body>
<script type="module">${inlineScript(init)}</script>
${body}
<script type="module">${inlineScript(setup)}</script>
</body></html>
`;
}

/** The initial frame as a bytes expression (base64 in the page, decoded where it runs), or null. */
function initBytes(base64: string | null): string {
  return base64 === null ? "null" : `Uint8Array.from(atob(${JSON.stringify(base64)}), (c) => c.charCodeAt(0))`;
}

/** Script text safe to inline: a connection's setup code may contain "</script>" in a string. */
function inlineScript(source: string): string {
  return source.replace(/<\//g, "<\\/");
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}
