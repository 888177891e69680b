import { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { timingSafeEqual } from "node:crypto";
import type { AppendRequest, EventStore } from "../adapters/eventstore/event-store.js";
import { eventMetadata } from "../adapters/eventstore/event-metadata.js";
import type { ReceivedMessage } from "../adapters/nats/jetstream-ingest.js";
import { type IngestDecision, type IngestMessage, decodeTenantEventMessage, decodeTransactionMessage } from "../domain/ingest-decoding.js";

type Decoder = (message: IngestMessage) => IngestDecision<{ type: string; data: unknown }>;

/** The two kinds of message herald ingests, from NATS or HTTP, and how each is decoded. */
export const INGEST_KINDS = {
  transactions: { decode: decodeTransactionMessage as Decoder, idField: "transactionId", path: "/v1/transactions" },
  tenantEvents: { decode: decodeTenantEventMessage as Decoder, idField: "tenantEventId", path: "/v1/events" },
} as const;

export type IngestKind = keyof typeof INGEST_KINDS;

function toAppendRequest(decision: IngestDecision<{ type: string; data: unknown }>, actor: string): AppendRequest {
  return {
    stream: decision.stream,
    expectedRevision: decision.expectedRevision,
    events: [{ type: decision.event.type, data: decision.event.data, metadata: eventMetadata(actor) }],
  };
}

/** Counts each decoded message by kind, source and outcome (for /metrics). */
export type IngestCounter = (kind: IngestKind, source: "nats" | "http", outcome: "accepted" | "rejected") => void;

/** For the NATS consumer: every message becomes an append, accepted or recorded as rejected. */
export function natsIngestDecoder(kind: IngestKind, maxBytes: number, count: IngestCounter): (message: ReceivedMessage) => AppendRequest {
  return (message) => {
    const decision = INGEST_KINDS[kind].decode({ ...message, source: "nats", maxBytes });
    count(kind, "nats", decision.accepted ? "accepted" : "rejected");
    return toAppendRequest(decision, "system:ingest-nats");
  };
}

export interface IngestRoutesOptions {
  readonly store: EventStore;
  /** Undefined: HTTP ingest is off and answers 401. */
  readonly ingestToken: string | undefined;
  readonly maxPayloadBytes: number;
  readonly count: IngestCounter;
}

/**
 * `POST /v1/transactions` and `POST /v1/events`, for set-ups without NATS. Unlike NATS messages, a
 * malformed body is the caller's to fix: it gets a 400 and nothing is written.
 */
export function registerIngestRoutes(http: FastifyInstance, options: IngestRoutesOptions): void {
  void http.register(async (scope) => {
    // Raw bytes, whatever the content type: the limit and the JSON parsing are ingest's own rules.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: options.maxPayloadBytes }, (_request, body, done) => {
      done(null, body);
    });
    for (const kind of Object.keys(INGEST_KINDS) as IngestKind[]) {
      const { path, decode, idField } = INGEST_KINDS[kind];
      scope.post(path, async (request, reply) => {
        if (!authorized(request, options.ingestToken)) return unauthorized(reply, options.ingestToken);
        const idempotencyKey = request.headers["idempotency-key"];
        const decision = decode({
          body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
          source: "http",
          ...(typeof idempotencyKey === "string" && idempotencyKey ? { messageId: idempotencyKey } : {}),
          receivedAt: Date.now(),
          maxBytes: options.maxPayloadBytes,
        });
        options.count(kind, "http", decision.accepted ? "accepted" : "rejected");
        if (!decision.accepted) {
          return reply.status(400).send({ error: (decision.event.data as { reason: string }).reason, code: "INVALID_MESSAGE" });
        }
        const [outcome] = await options.store.appendMany([toAppendRequest(decision, "system:ingest-http")]);
        return reply.status(202).send({ [idField]: decision.id, duplicate: outcome?.ok === false });
      });
    }
  });
}

function authorized(request: FastifyRequest, token: string | undefined): boolean {
  if (!token) return false;
  const header = request.headers.authorization ?? "";
  const given = Buffer.from(header.startsWith("Bearer ") ? header.slice(7) : "");
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function unauthorized(reply: FastifyReply, token: string | undefined) {
  return reply.status(401).send({
    error: token
      ? "send authorization: Bearer <HERALD_INGEST_TOKEN>"
      : "HTTP ingest is off: set HERALD_INGEST_TOKEN (embedded mode generates one and prints it at start)",
    code: "UNAUTHENTICATED",
  });
}
