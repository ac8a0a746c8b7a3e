/**
 * Browser bundle `/bonito/runtime.js`: installs `window.Bonito`, the page's runtime, with the
 * page's DOM for sub-session content and Bonito's tracking of removed sub-sessions.
 */
import { BonitoRuntime } from "../runtime.js";
import { browserDom, closeRemovedSessions } from "./dom.js";

const bonito = new BonitoRuntime({ dom: browserDom(document) });
(globalThis as unknown as { Bonito: BonitoRuntime }).Bonito = bonito;
closeRemovedSessions(document, bonito);
