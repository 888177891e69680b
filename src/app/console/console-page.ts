import { appPage, appPagePolicy } from "../web/app-page.js";
import type { BrowserBundle } from "../web/browser-bundle.js";
import { CONSOLE_SETTINGS_ELEMENT_ID, type ConsoleSettings } from "./client/console-settings.js";

/**
 * Stricter than the IDE's: the console has no editor that positions widgets with inline styles and
 * no fonts or icons as data: URLs, so everything it loads is herald's own file or its API.
 */
export const CONSOLE_CSP = appPagePolicy({ styleSrc: "'self'" });

/** The HTML that loads the console, with herald's settings for it. */
export function consolePage(settings: ConsoleSettings, assets: BrowserBundle, assetsPath: string): string {
  return appPage(
    {
      title: "herald console",
      rootId: "console",
      settingsElementId: CONSOLE_SETTINGS_ELEMENT_ID,
      settings,
      noscript: "The delivery console needs JavaScript. Without it, use the GraphQL API at /graphql.",
    },
    assets,
    assetsPath,
  );
}
