/**
 * The page side of sub-sessions, as Bonito v5's `Sessions.js` and `Protocol.js` do it: turn
 * the HTML of an UpdateSession into elements and put them where the server asked, and ask
 * the server to close a sub-session whose content left the page.
 */
import { DomNode, RawHtml } from "../../protocol/index.js";
import type { FrontendDom } from "../runtime.js";

/** How long UpdateSession waits for its target element to appear (Bonito: 30 s). */
const FIND_NODE_TIMEOUT_MS = 30_000;

/** `[data-jscall-id='…']`, with the id quoted for a CSS attribute selector. */
function selectorFor(id: string): string {
  return `[data-jscall-id=${JSON.stringify(id)}]`;
}

/** Builds elements from what UpdateSession carries: a DOM node (105), raw HTML (108) or an HTML string. */
export function buildNode(document: Document, html: unknown): Node {
  if (html instanceof DomNode) {
    // SVG elements only render when created in the SVG namespace.
    const element = html.attributes.juliasvgnode
      ? document.createElementNS("http://www.w3.org/2000/svg", html.tag)
      : document.createElement(html.tag);
    for (const [name, value] of Object.entries(html.attributes)) {
      if (name !== "juliasvgnode") element.setAttribute(name, String(value));
    }
    for (const child of html.children) element.append(typeof child === "string" ? child : buildNode(document, child));
    return element;
  }
  if (html instanceof RawHtml || typeof html === "string") {
    const div = document.createElement("div");
    div.innerHTML = html instanceof RawHtml ? html.html : html;
    return div;
  }
  return document.createTextNode(String(html ?? ""));
}

/** The page's DOM for the runtime: finds UpdateSession's target and puts the content there. */
export function browserDom(document: Document): FrontendDom {
  return {
    findNode: (selector) =>
      new Promise((resolve, reject) => {
        // Bonito polls with a growing delay: the target may be rendered by a message still in flight.
        let waited = 0;
        const look = (delay: number) => {
          const node = document.querySelector(selectorFor(selector));
          if (node) return resolve(node);
          if (waited >= FIND_NODE_TIMEOUT_MS) {
            return reject(new Error(`no element with data-jscall-id=${JSON.stringify(selector)} after ${FIND_NODE_TIMEOUT_MS} ms`));
          }
          waited += delay;
          setTimeout(look, delay, Math.min(delay * 2, 1000));
        };
        look(1);
      }),
    update: (node, html, replace) => {
      const target = node as Element;
      const content = buildNode(document, html);
      if (replace) {
        target.replaceWith(content);
      } else {
        target.replaceChildren(content);
      }
    },
  };
}

/** What the deletion tracking needs of the runtime. */
interface ClosesSessions {
  close_session(id: string): void;
  closable_sessions(): string[];
}

/**
 * Watches the page: when a loaded sub-session's element (its id is the session id) leaves the
 * document, asks the server to close that sub-session, as Bonito's runtime does.
 */
export function closeRemovedSessions(document: Document, bonito: ClosesSessions): MutationObserver {
  const observer = new MutationObserver(() => {
    for (const id of bonito.closable_sessions()) {
      if (!document.getElementById(id)) bonito.close_session(id);
    }
  });
  observer.observe(document, { childList: true, subtree: true });
  return observer;
}
