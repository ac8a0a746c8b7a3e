/**
 * Firefox ESR (Debian's `firefox-esr`, driven by puppeteer over WebDriver BiDi) against a
 * Node server on each backend: the same suite as Chromium (test/helpers/browser-suite.ts).
 * Served on this host's interface address, because Firefox gathers no 127.0.0.1 candidate.
 */
import { webrtcBrowserSuite } from "./helpers/browser-suite.js";
import { firefoxSuiteBrowser, interfaceAddress } from "./helpers/firefox.js";

await webrtcBrowserSuite({ browser: "Firefox", launch: firefoxSuiteBrowser, host: interfaceAddress(), updates: 1000 });
