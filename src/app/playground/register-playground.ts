import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { browserBundle } from "../web/browser-bundle.js";
import { prefersHtml } from "../web/content-negotiation.js";
import { registerBundleFiles, sendPage } from "../web/page-routes.js";
import type { PlaygroundSettings } from "./client/playground-settings.js";
import { PLAYGROUND_CSP, playgroundPage } from "./playground-page.js";

export interface PlaygroundOptions {
  /** The GraphQL endpoint; the IDE answers browsers there, and its files live under `<path>/assets/`. */
  readonly path: string;
  readonly settings: Omit<PlaygroundSettings, "endpoint">;
  readonly logger: Logger;
}

/**
 * Routes are told apart by what the client accepts: fastify picks the route with a matching
 * constraint, and every other request on the path (GraphQL over GET or POST) falls through to the
 * route without one, Apollo's.
 */
const PREFERS_HTML = "prefersHtml";

const playgroundBundle = browserBundle({
  title: "GraphQL IDE",
  entry: fileURLToPath(new URL("./client/main", import.meta.url)),
});

/**
 * Serves GraphiQL at the GraphQL endpoint to browsers (`GET` with `accept: text/html`); everything
 * else on that path stays Apollo's. Register it only when the playground is on.
 */
export function registerPlayground(http: FastifyInstance, options: PlaygroundOptions): void {
  const assetsPath = `${options.path}/assets`;
  const settings: PlaygroundSettings = { ...options.settings, endpoint: options.path };
  const logger = options.logger.child({ component: "playground" });

  http.addConstraintStrategy({
    name: PREFERS_HTML,
    storage() {
      const handlers = new Map<string, unknown>();
      return {
        get: (value: string) => (handlers.get(value) ?? null) as never,
        set: (value: string, handler: unknown) => void handlers.set(value, handler),
      };
    },
    deriveConstraint: (request) => (prefersHtml(request.headers.accept) ? "yes" : "no"),
    mustMatchWhenDerived: false,
  });

  http.route({
    method: "GET",
    url: options.path,
    constraints: { [PREFERS_HTML]: "yes" },
    handler: async (_request, reply) =>
      sendPage(reply, playgroundPage(settings, await playgroundBundle(logger), assetsPath), PLAYGROUND_CSP),
  });

  registerBundleFiles(http, assetsPath, playgroundBundle, logger);
}
