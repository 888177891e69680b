import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AppendBatcher } from "../adapters/eventstore/append-batcher.js";
import { isPermanentAppendError } from "../adapters/eventstore/append-errors.js";
import { eventMetadata } from "../adapters/eventstore/event-metadata.js";
import type { AppendedRequest, AppendOutcome, AppendRequest } from "../adapters/eventstore/event-store.js";
import type { DecodedMessage, IngestOutcome, JetStreamIngestOptions } from "../adapters/nats/jetstream-ingest.js";
import {
  decodeTenantEventMessage,
  decodeTransactionMessage,
  type IngestDecision,
  type IngestMessage,
  rejectMessage,
} from "../domain/ingest-decoding.js";
import type { IngestEvent, IngestRejection, IngestRejectionCode } from "../domain/ingest-events.js";

type Decoder = (message: IngestMessage) => IngestDecision<IngestEvent>;

/** The two kinds of message herald ingests, from NATS or HTTP, and how each is decoded. */
export const INGEST_KINDS = {
  transactions: {
    decode: decodeTransactionMessage satisfies Decoder,
    rejectionType: "TransactionRejected",
    idField: "transactionId",
    path: "/v1/transactions",
  },
  tenantEvents: {
    decode: decodeTenantEventMessage satisfies Decoder,
    rejectionType: "TenantEventRejected",
    idField: "tenantEventId",
    path: "/v1/events",
  },
} as const;

export type IngestKind = keyof typeof INGEST_KINDS;

function toAppendRequest(decision: IngestDecision<IngestEvent>, actor: string): AppendRequest {
  return {
    stream: decision.stream,
    expectedRevision: decision.expectedRevision,
    events: [{ ...decision.event, metadata: eventMetadata(actor) }],
  };
}

/** Why a decision refused its message (the rejection's code). */
function rejectionCode(decision: IngestDecision<IngestEvent>): IngestRejectionCode | undefined {
  return decision.accepted ? undefined : ((decision.event.data as IngestRejection).code ?? "invalid_shape");
}

/** Counts each message by kind, source and outcome once it is settled (for /metrics): a message the store refused never counts as accepted. */
export type IngestCounter = (kind: IngestKind, source: "nats" | "http", outcome: IngestOutcome) => void;

const NATS_ACTOR = "system:ingest-nats";

/**
 * For the NATS consumer: every message becomes an append, accepted or recorded as rejected; a message
 * the store refused after all is recorded as rejected with the store's reason.
 */
export function natsIngestCodec(kind: IngestKind, maxBytes: number): Pick<JetStreamIngestOptions, "decode" | "refuse"> {
  const { decode, rejectionType } = INGEST_KINDS[kind];
  const asDecoded = (decision: IngestDecision<IngestEvent>): DecodedMessage => {
    const code = rejectionCode(decision);
    return { request: toAppendRequest(decision, NATS_ACTOR), ...(code === undefined ? {} : { rejected: code }) };
  };
  return {
    decode: (message) => asDecoded(decode({ ...message, source: "nats", maxBytes })),
    refuse: (message, reason) =>
      asDecoded(
        rejectMessage({ ...message, source: "nats", maxBytes }, { code: "store_refused", reason }, rejectionType),
      ),
  };
}

export interface IngestRoutesOptions {
  /** Shared with the process's other appenders: concurrent POSTs are written together. */
  readonly appends: AppendBatcher;
  /** Undefined: HTTP ingest is off and answers 401. */
  readonly ingestToken: string | undefined;
  readonly maxPayloadBytes: number;
  readonly count: IngestCounter;
  /** Called with each committed append, before the answer (the SSE matcher takes tenant events from it). */
  readonly onAppended?: (appended: readonly AppendedRequest[]) => void;
  /** Appends an accepted transaction instead of the batcher, with the deliveries scheduled at ingest. */
  readonly appendTransactions?: (requests: readonly AppendRequest[]) => Promise<AppendOutcome[]>;
}

/**
 * `POST /v1/transactions` and `POST /v1/events`, for set-ups without NATS. Unlike NATS messages, a
 * malformed body is the caller's to fix: it gets a 4xx naming the reason and nothing is written.
 */
export function registerIngestRoutes(http: FastifyInstance, options: IngestRoutesOptions): void {
  const appendOne = async (kind: IngestKind, request: AppendRequest): Promise<AppendOutcome> => {
    if (kind !== "transactions" || !options.appendTransactions) return options.appends.append(request);
    const [outcome] = await options.appendTransactions([request]);
    if (!outcome) throw new Error("the ingest append returned no outcome");
    return outcome;
  };
  void http.register(async (scope) => {
    // Before the body is read: a sender without the token cannot hold a connection open by trickling
    // one, and the connection closes after the answer instead of waiting for the rest.
    scope.addHook("onRequest", async (request, reply) => {
      if (authorized(request, options.ingestToken)) return;
      reply.header("connection", "close");
      return unauthorized(reply, options.ingestToken);
    });
    // Raw bytes, whatever the content type: the limit and the JSON parsing are ingest's own rules.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      "*",
      { parseAs: "buffer", bodyLimit: options.maxPayloadBytes },
      (_request, body, done) => {
        done(null, body);
      },
    );
    for (const kind of Object.keys(INGEST_KINDS) as IngestKind[]) {
      const { path, decode, idField } = INGEST_KINDS[kind];
      scope.post(path, async (request, reply) => {
        const idempotencyKey = request.headers["idempotency-key"];
        const decision = decode({
          body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
          source: "http",
          ...(typeof idempotencyKey === "string" && idempotencyKey ? { messageId: idempotencyKey } : {}),
          receivedAt: Date.now(),
          maxBytes: options.maxPayloadBytes,
        });
        const code = rejectionCode(decision);
        if (code !== undefined) {
          options.count(kind, "http", { kind: "rejected", code });
          const { reason } = decision.event.data as IngestRejection;
          return reply
            .status(code === "too_large" ? 413 : 400)
            .send({ error: reason, code: "INVALID_MESSAGE", reason: code });
        }
        const append = toAppendRequest(decision, "system:ingest-http");
        let outcome: AppendOutcome;
        try {
          outcome = await appendOne(kind, append);
        } catch (error) {
          if (!isPermanentAppendError(error)) throw error;
          // Decoding let it through, yet the store refuses the data itself: still the sender's to fix.
          // (The batcher fails only the request it refuses, never the others written with it.)
          request.log.warn({ err: error }, "the event store refused an ingested message");
          options.count(kind, "http", { kind: "rejected", code: "store_refused" });
          return reply.status(422).send({
            error: "the event store cannot hold this message",
            code: "INVALID_MESSAGE",
            reason: "store_refused",
          });
        }
        options.onAppended?.([{ request: append, outcome }]);
        options.count(kind, "http", { kind: "accepted" });
        return reply.status(202).send({ [idField]: decision.id, duplicate: !outcome.ok });
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
