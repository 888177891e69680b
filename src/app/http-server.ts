import { randomUUID } from "node:crypto";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from "fastify";
import type { Logger } from "pino";

/** One thing /readyz checks; `check` throws when that part is down. */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<void>;
}

export interface HttpServerOptions {
  readonly logger: Logger;
  readonly readiness: readonly ReadinessCheck[];
  readonly bodyLimit: number;
  readonly timeouts: HttpTimeouts;
}

/** Bounds on slow clients (config HERALD_HTTP_*_TIMEOUT_MS). */
export interface HttpTimeouts {
  /** Until the request's headers have arrived. */
  readonly headersMs: number;
  /** Until the whole request, body included, has arrived; an answer that streams afterwards is not bounded by it. */
  readonly requestMs: number;
  /** A connection idle this long is closed (SSE streams opt out: sse-stream.ts). */
  readonly connectionMs: number;
}

const READINESS_TIMEOUT_MS = 2000;

/**
 * The fastify shell: request ids, JSON errors, /healthz and /readyz. Features add their routes
 * (GraphQL, ingest, SSE, metrics) from the composition root.
 */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    // Request logs name the path only: query strings carry what callers choose to put there
    // (look_back, group_id, tokens pasted by mistake), and logs outlive requests.
    loggerInstance: options.logger.child({}, { serializers: { req: requestLogFields } }) as FastifyBaseLogger,
    bodyLimit: options.bodyLimit,
    // A client trickling its headers or body a byte at a time would otherwise hold a connection for ever.
    requestTimeout: options.timeouts.requestMs,
    connectionTimeout: options.timeouts.connectionMs,
    http: {
      headersTimeout: options.timeouts.headersMs,
      requestTimeout: options.timeouts.requestMs,
      // Node checks the two above only this often (30 s by default), which would stretch every bound.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(options.timeouts.headersMs / 4))),
    },
    genReqId: (request) => {
      const given = request.headers["x-request-id"];
      return typeof given === "string" && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    // Idle keep-alive connections close at once on shutdown; requests in flight still finish.
    forceCloseConnections: "idle",
    return503OnClosing: true,
  });

  // A request that arrived before shutdown and answers after it would leave its keep-alive connection
  // idle but open (fastify closes idle connections once, when close starts), holding the close for
  // the keep-alive timeout (72 s). Answers sent while closing end their connection instead.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
    if (closing) reply.header("connection", "close");
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error }, "request failed");
      // The error's own code may be a SQLSTATE or a driver's: it stays in the log, found by the request id.
      return void reply
        .status(status)
        .send({ error: "internal error, retry", code: "INTERNAL", requestId: request.id });
    }
    void reply.status(status).send({ error: error.message, code: error.code ?? "BAD_REQUEST" });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send({ error: `no route for ${request.method} ${request.url.split("?")[0]}`, code: "NOT_FOUND" });
  });

  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (request, reply) => {
    const results = await Promise.all(
      options.readiness.map(async ({ name, check }) => {
        try {
          await withTimeout(check(), READINESS_TIMEOUT_MS, `${name} did not answer in ${READINESS_TIMEOUT_MS} ms`);
          return { name, ok: true };
        } catch (error) {
          // The answer names the part only: its error text (host names, ports, driver messages) is for the log.
          request.log.warn({ err: error, check: name }, "readiness check failed");
          return { name, ok: false };
        }
      }),
    );
    const failing = results.filter((result) => !result.ok);
    return reply.status(failing.length === 0 ? 200 : 503).send({
      status: failing.length === 0 ? "ready" : "not ready",
      failing: failing.map((result) => result.name),
      checks: results,
    });
  });

  return app;
}

/** fastify's request log fields, with the URL's query string dropped. */
function requestLogFields(request: FastifyRequest) {
  return {
    method: request.method,
    url: request.url.split("?")[0],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
