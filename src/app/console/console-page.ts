import { appPage } from "../web/app-page.js";
import type { BrowserBundle } from "../web/browser-bundle.js";
import { type ConsoleSettings, CONSOLE_SETTINGS_ELEMENT_ID } from "./client/console-settings.js";

/**
 * Stricter than the IDE's: the console has no editor that positions widgets with inline styles and
 * no fonts or icons as data: URLs, so everything it loads is herald's own file or its API.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // data: for the empty favicon, which keeps the browser from asking for /favicon.ico.
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The HTML that loads the console, with herald's settings for it. */
export function consolePage(settings: ConsoleSettings, assets: BrowserBundle, assetsPath: string): string {
  return appPage(
    { title: "herald console", rootId: "console", settingsElementId: CONSOLE_SETTINGS_ELEMENT_ID, settings, noscript: "The delivery console needs JavaScript. Without it, use the GraphQL API at /graphql." },
    assets,
    assetsPath,
  );
}
