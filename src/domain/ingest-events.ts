/**
 * What ingest appends: transactions for webhooks (stream `transaction-<transactionId>`) and tenant
 * events for Waypoint SSE (stream `tenant-event-<id>`), plus a record of every message refused.
 */

export const transactionStream = (transactionId: string): string => `transaction-${transactionId}`;
export const tenantEventStream = (tenantEventId: string): string => `tenant-event-${tenantEventId}`;
export const rejectedStream = (rejectionId: string): string => `rejected-${rejectionId}`;

/** An Asset Register transaction, as published (test/fixtures/transactions.json has examples). */
export interface Transaction {
  readonly status: string;
  readonly signature?: string;
  readonly message?: string;
  readonly events: readonly TransactionEvent[];
  /** Any other fields are kept and delivered as they came. */
  readonly [field: string]: unknown;
}

export interface TransactionEvent {
  readonly type: string;
  readonly action: string;
  readonly args?: readonly unknown[];
  readonly collectionId: string;
  readonly [field: string]: unknown;
}

/**
 * Received events keep the message's text exactly as published beside its parsed form: webhook
 * bodies and SSE `data:` are that text, byte for byte (re-serialising the parsed form would change
 * whitespace, the order of integer-like keys and the spelling of numbers; jsonb even reorders keys).
 * Events recorded before herald kept it have no `publishedText`: they are sent re-serialised.
 */
export interface PublishedText {
  readonly publishedText?: string;
}

export interface TransactionReceived {
  readonly type: "TransactionReceived";
  readonly data: PublishedText & {
    /** Derived from the signature when there is a real one, else from the message id. */
    readonly transactionId: string;
    readonly transaction: Transaction;
    readonly source: "nats" | "http";
    readonly messageId?: string;
    /** Milliseconds since the epoch when herald received it. */
    readonly receivedAt: number;
  };
}

export interface TransactionRejected {
  readonly type: "TransactionRejected";
  readonly data: IngestRejection;
}

/** A tenant event from acapy-cloud's cloudapi (test/fixtures/tenant-events.json has examples). */
export interface TenantEvent {
  readonly wallet_id: string;
  readonly topic: string;
  readonly origin?: string;
  readonly group_id?: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

export interface TenantEventReceived {
  readonly type: "TenantEventReceived";
  readonly data: PublishedText & {
    readonly tenantEventId: string;
    readonly event: TenantEvent;
    readonly source: "nats" | "http";
    readonly subject?: string;
    readonly receivedAt: number;
  };
}

export interface TenantEventRejected {
  readonly type: "TenantEventRejected";
  readonly data: IngestRejection;
}

/** What ingest appends: to `transaction-`, `tenant-event-` and `rejected-` streams. */
export type IngestEvent = TransactionReceived | TransactionRejected | TenantEventReceived | TenantEventRejected;

/**
 * Why a message was refused. `store_refused`: decoding let it through but the event store refused
 * its append for good (a data error); recorded so that the consumer moves on.
 */
export type IngestRejectionCode =
  | "too_large"
  | "not_utf8"
  | "not_json"
  | "nul_character"
  | "lone_surrogate"
  | "too_deep"
  | "invalid_shape"
  | "store_refused";

export interface IngestRejection {
  readonly source: "nats" | "http";
  readonly subject?: string;
  readonly messageId?: string;
  /** Absent from rejections recorded before the codes existed. */
  readonly code?: IngestRejectionCode;
  /** Why: "not JSON", "too large: … bytes", "events[0].type must be a non-empty string", … */
  readonly reason: string;
  readonly sizeBytes: number;
  /** The first bytes of the message, for an operator; never the whole of an oversized one. */
  readonly excerpt: string;
  readonly receivedAt: number;
}

const missingTransaction = (): Error =>
  new Error("a delivery's transaction is missing: it has neither transaction nor publishedText");

/**
 * A transaction as a delivery carries it: once, as the text published when there is one (the
 * transaction is that text parsed), else as the parsed form alone (recorded before herald kept the
 * text). Deliveries recorded before they carried it once have both.
 */
export type TransactionBody = PublishedText & {
  /** Absent when publishedText holds it: the text is the transaction as published. */
  readonly transaction?: Transaction;
};

/**
 * The body to record for a delivery: the published text alone when there is one. Eight endpoints
 * mean eight deliveries of the same transaction, each appended, read and projected as jsonb: the
 * parsed form beside the text doubled all of that.
 */
export function transactionBody(data: TransactionBody): TransactionBody {
  if (data.publishedText !== undefined) return { publishedText: data.publishedText };
  if (data.transaction !== undefined) return { transaction: data.transaction };
  throw missingTransaction();
}

/** The transaction's text as published (a webhook's body). */
export function transactionText(data: TransactionBody): string {
  if (data.publishedText !== undefined) return data.publishedText;
  if (data.transaction !== undefined) return JSON.stringify(data.transaction);
  throw missingTransaction();
}

/**
 * The transaction as an object, parsed from the published text when the parsed form was not
 * recorded. Ingest decoded that text without its byte-order mark (TextDecoder drops it) but kept the
 * mark in the text, so it is dropped here too: otherwise JSON.parse refuses what ingest accepted.
 */
export function parsedTransaction(data: TransactionBody): Transaction {
  if (data.transaction !== undefined) return data.transaction;
  if (data.publishedText !== undefined) return JSON.parse(data.publishedText.replace(/^\uFEFF/, "")) as Transaction;
  throw missingTransaction();
}

/** The tenant event's text as published (an SSE match's `data:`). */
export function tenantEventText(data: PublishedText & { readonly event: TenantEvent }): string {
  return data.publishedText ?? JSON.stringify(data.event);
}
