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

/** The HTML that loads the console, with herald's settings for it as (inert) JSON. */
export function consolePage(settings: ConsoleSettings, assets: BrowserBundle, assetsPath: string): string {
  // "<" escaped, so that no value can close the script element.
  const settingsJson = JSON.stringify(settings).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>herald console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${assetsPath}/${assets.stylesheet}">
<script type="application/json" id="${CONSOLE_SETTINGS_ELEMENT_ID}">${settingsJson}</script>
<script defer src="${assetsPath}/${assets.script}"></script>
</head>
<body>
<div id="console"></div>
<noscript>The delivery console needs JavaScript. Without it, use the GraphQL API at /graphql.</noscript>
</body>
</html>
`;
}
