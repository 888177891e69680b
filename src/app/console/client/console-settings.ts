import type { SiweSettings } from "../../web/client/wallet-sign-in.js";

/** What herald tells the console about itself, as inert JSON in the page (no inline script under the CSP). */
export interface ConsoleSettings extends SiweSettings {
  /** The GraphQL API the console calls. */
  readonly graphqlPath: string;
}

export const CONSOLE_SETTINGS_ELEMENT_ID = "herald-console-settings";

export function readConsoleSettings(document: Document): ConsoleSettings {
  const text = document.getElementById(CONSOLE_SETTINGS_ELEMENT_ID)?.textContent;
  if (!text) throw new Error(`the page has no #${CONSOLE_SETTINGS_ELEMENT_ID}`);
  return JSON.parse(text) as ConsoleSettings;
}
