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

export function renderPage({ session, bootstrap, assets, body, title }: PageParts): string {
  const scripts = [RUNTIME_ASSET, ...assets].map((asset) => `<script src="${ASSET_PATH_PREFIX}${asset.name}"></script>`).join("\n");
  const init = `Bonito.init_session(${JSON.stringify(session.id)}, ${JSON.stringify(bootstrap.init)}, "root", ${session.compressionEnabled});`;
  const setup = session.connection.setupConnection(session) ?? "";
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
${scripts}
<script>${inlineScript(init)}</script>
</head><body>
${body}
<script>${inlineScript(setup)}</script>
</body></html>
`;
}

/** Script text safe to inline: a connection's setup code may contain "</script>" in a string. */
function inlineScript(source: string): string {
  return source.replace(/<\//g, "<\\/");
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}
