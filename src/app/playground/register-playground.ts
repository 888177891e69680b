import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { PlaygroundSettings } from "./client/playground-settings.js";
import { pickEncoding, prefersHtml } from "./content-negotiation.js";
import { playgroundAssets } from "./playground-assets.js";
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
    handler: async (_request, reply) => {
      const html = playgroundPage(settings, await playgroundAssets(logger), assetsPath);
      return reply
        .header("content-security-policy", PLAYGROUND_CSP)
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer")
        .header("cache-control", "no-cache")
        .type("text/html; charset=utf-8")
        .send(html);
    },
  });

  http.get<{ Params: { file: string } }>(`${assetsPath}/:file`, async (request, reply) => {
    const file = (await playgroundAssets(logger)).files.get(request.params.file);
    if (!file) return reply.callNotFound();
    const encoding = pickEncoding(request.headers["accept-encoding"]);
    void reply
      .header("cache-control", "public, max-age=31536000, immutable")
      .header("x-content-type-options", "nosniff")
      .header("vary", "accept-encoding")
      .type(file.contentType);
    if (encoding === "identity") return reply.send(file.identity);
    return reply.header("content-encoding", encoding).send(encoding === "br" ? file.brotli : file.gzip);
  });
}
