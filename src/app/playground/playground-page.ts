import { appPage, appPagePolicy } from "../web/app-page.js";
import type { BrowserBundle } from "../web/browser-bundle.js";
import { type PlaygroundSettings, SETTINGS_ELEMENT_ID } from "./client/playground-settings.js";

/**
 * The page's scripts and styles come from herald itself; inline styles are GraphiQL's (CodeMirror
 * positions its widgets with them) and data: URLs are its fonts and icons.
 */
export const PLAYGROUND_CSP = appPagePolicy({ styleSrc: "'self' 'unsafe-inline'", fontSrc: "'self' data:" });

/** The HTML that loads the IDE, with herald's settings for it. */
export function playgroundPage(settings: PlaygroundSettings, assets: BrowserBundle, assetsPath: string): string {
  return appPage(
    {
      title: "herald GraphQL",
      rootId: "playground",
      settingsElementId: SETTINGS_ELEMENT_ID,
      settings,
      noscript: "The GraphQL IDE needs JavaScript. Without it, POST GraphQL requests to this URL.",
    },
    assets,
    assetsPath,
  );
}
