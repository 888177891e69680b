import type { BrowserBundle } from "../web/browser-bundle.js";
import { type PlaygroundSettings, SETTINGS_ELEMENT_ID } from "./client/playground-settings.js";

/**
 * The page's scripts and styles come from herald itself; inline styles are GraphiQL's (CodeMirror
 * positions its widgets with them) and data: URLs are its fonts and icons.
 */
export const PLAYGROUND_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The HTML that loads the IDE, with herald's settings for it as (inert) JSON. */
export function playgroundPage(settings: PlaygroundSettings, assets: BrowserBundle, assetsPath: string): string {
  // "<" escaped, so that no value can close the script element.
  const settingsJson = JSON.stringify(settings).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>herald GraphQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${assetsPath}/${assets.stylesheet}">
<script type="application/json" id="${SETTINGS_ELEMENT_ID}">${settingsJson}</script>
<script defer src="${assetsPath}/${assets.script}"></script>
</head>
<body>
<div id="playground"></div>
<noscript>The GraphQL IDE needs JavaScript. Without it, POST GraphQL requests to this URL.</noscript>
</body>
</html>
`;
}
