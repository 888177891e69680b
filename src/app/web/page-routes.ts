import type { FastifyInstance, FastifyReply } from "fastify";
import type { Logger } from "pino";
import type { BrowserBundle } from "./browser-bundle.js";
import { pickEncoding } from "./content-negotiation.js";

/** A page of herald's own: its HTML carries the policy; its files come from `assetsPath`. */
export function sendPage(reply: FastifyReply, html: string, contentSecurityPolicy: string): FastifyReply {
  return reply
    .header("content-security-policy", contentSecurityPolicy)
    .header("x-content-type-options", "nosniff")
    .header("referrer-policy", "no-referrer")
    .header("cache-control", "no-cache")
    .type("text/html; charset=utf-8")
    .send(html);
}

/** Serves a bundle's files at `<assetsPath>/<name>`, brotli or gzip when the browser takes them. */
export function registerBundleFiles(
  http: FastifyInstance,
  assetsPath: string,
  load: (logger: Logger) => Promise<BrowserBundle>,
  logger: Logger,
): void {
  http.get<{ Params: { file: string } }>(`${assetsPath}/:file`, async (request, reply) => {
    const file = (await load(logger)).files.get(request.params.file);
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
