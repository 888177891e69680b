import type { SiweSettings } from "../../web/client/wallet-sign-in.js";

/**
 * What herald tells the page about itself. The server writes it into the page as JSON (a
 * `<script type="application/json">`, which never runs, so the page needs no inline script and its
 * Content-Security-Policy can forbid them); the client reads it before rendering.
 */
export interface PlaygroundSettings extends SiweSettings {
  /** Where the IDE sends its operations. */
  readonly endpoint: string;
}

export const SETTINGS_ELEMENT_ID = "herald-playground-settings";

export function readSettings(document: Document): PlaygroundSettings {
  const text = document.getElementById(SETTINGS_ELEMENT_ID)?.textContent;
  if (!text) throw new Error(`the page has no #${SETTINGS_ELEMENT_ID}`);
  return JSON.parse(text) as PlaygroundSettings;
}
