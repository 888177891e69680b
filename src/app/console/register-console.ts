import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { browserBundle } from "../web/browser-bundle.js";
import { registerBundleFiles, sendPage } from "../web/page-routes.js";
import type { ConsoleSettings } from "./client/console-settings.js";
import { CONSOLE_CSP, consolePage } from "./console-page.js";

export const CONSOLE_PATH = "/console";

export interface ConsoleOptions {
  readonly settings: ConsoleSettings;
  readonly logger: Logger;
}

const consoleBundle = browserBundle({
  title: "console",
  entry: fileURLToPath(new URL("./client/main", import.meta.url)),
});

/**
 * The delivery console at /console: a page of herald's own that does everything through the public
 * GraphQL API with the user's token, so the server enforces every rule as for any other client.
 * Register it only when the console is on (HERALD_CONSOLE).
 */
export function registerConsole(http: FastifyInstance, options: ConsoleOptions): void {
  const assetsPath = `${CONSOLE_PATH}/assets`;
  const logger = options.logger.child({ component: "console" });
  http.get(CONSOLE_PATH, async (_request, reply) =>
    sendPage(reply, consolePage(options.settings, await consoleBundle(logger), assetsPath), CONSOLE_CSP),
  );
  registerBundleFiles(http, assetsPath, consoleBundle, logger);
}
