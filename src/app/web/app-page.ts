import type { BrowserBundle } from "./browser-bundle.js";

/** What differs between herald's browser pages (the GraphQL IDE, the console). */
export interface AppPage {
  readonly title: string;
  /** The element the client script mounts into. */
  readonly rootId: string;
  /** The element holding `settings` as JSON, which the client reads at start. */
  readonly settingsElementId: string;
  readonly settings: unknown;
  /** What a browser without JavaScript shows instead. */
  readonly noscript: string;
}

/** The HTML that loads one of herald's bundled browser apps, with herald's settings for it as (inert) JSON. */
export function appPage(page: AppPage, assets: BrowserBundle, assetsPath: string): string {
  // "<" escaped, so that no value can close the script element.
  const settingsJson = JSON.stringify(page.settings).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${assetsPath}/${assets.stylesheet}">
<script type="application/json" id="${page.settingsElementId}">${settingsJson}</script>
<script defer src="${assetsPath}/${assets.script}"></script>
</head>
<body>
<div id="${page.rootId}"></div>
<noscript>${page.noscript}</noscript>
</body>
</html>
`;
}

/**
 * The content security policy of a herald page: its scripts, styles and API calls come from herald
 * itself and nothing else; `styleSrc` and `fontSrc` are where the pages differ.
 */
export function appPagePolicy(sources: { readonly styleSrc: string; readonly fontSrc?: string }): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src ${sources.styleSrc}`,
    ...(sources.fontSrc === undefined ? [] : [`font-src ${sources.fontSrc}`]),
    // data: for the empty favicon, which keeps the browser from asking for /favicon.ico.
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}
