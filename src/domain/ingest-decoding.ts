import { randomUUID } from "node:crypto";
import { deterministicId } from "./deterministic-id.js";
import {
  type IngestRejection,
  type IngestRejectionCode,
  rejectedStream,
  type TenantEvent,
  type TenantEventReceived,
  type TenantEventRejected,
  type Transaction,
  type TransactionReceived,
  type TransactionRejected,
  tenantEventStream,
  transactionStream,
} from "./ingest-events.js";
import { findUnstorable, storableText } from "./storable-json.js";

/** One message as it reached herald, from NATS or HTTP. */
export interface IngestMessage {
  readonly body: Uint8Array;
  readonly source: "nats" | "http";
  readonly subject?: string;
  /** `Nats-Msg-Id`, or an HTTP `idempotency-key`. */
  readonly messageId?: string;
  readonly receivedAt: number;
  readonly maxBytes: number;
}

/** What to append for a message: its stream, the expected revision and the event. */
export interface IngestDecision<Event extends { type: string; data: unknown }> {
  readonly accepted: boolean;
  readonly stream: string;
  /** Accepted messages create their stream, so a duplicate fails the revision check and is dropped. */
  readonly expectedRevision: "no_stream";
  readonly event: Event;
  /** The accepted entity's id (transaction or tenant event), or the rejection's. */
  readonly id: string;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** Why a message was refused: a stable code (metrics, HTTP answers) and the words for a person. */
export interface Refusal {
  readonly code: IngestRejectionCode;
  readonly reason: string;
}

type Read<T> = { readonly ok: true; readonly value: T } | ({ readonly ok: false } & Refusal);

const EXCERPT_BYTES = 512;

export function decodeTransactionMessage(
  message: IngestMessage,
): IngestDecision<TransactionReceived> | IngestDecision<TransactionRejected> {
  const parsed = readMessage(message, parseTransaction);
  if (!parsed.ok) return rejectMessage(message, parsed, "TransactionRejected");
  const transaction = parsed.value;
  const transactionId = transactionIdFor(transaction, message.messageId);
  return {
    accepted: true,
    stream: transactionStream(transactionId),
    expectedRevision: "no_stream",
    id: transactionId,
    event: {
      type: "TransactionReceived",
      data: {
        transactionId,
        transaction,
        publishedText: publishedText(message),
        source: message.source,
        ...(message.messageId === undefined ? {} : { messageId: message.messageId }),
        receivedAt: message.receivedAt,
      },
    },
  };
}

export function decodeTenantEventMessage(
  message: IngestMessage,
): IngestDecision<TenantEventReceived> | IngestDecision<TenantEventRejected> {
  const parsed = readMessage(message, parseTenantEvent);
  if (!parsed.ok) return rejectMessage(message, parsed, "TenantEventRejected");
  const tenantEventId = message.messageId ? deterministicId("herald/tenant-event", message.messageId) : randomUUID();
  return {
    accepted: true,
    stream: tenantEventStream(tenantEventId),
    expectedRevision: "no_stream",
    id: tenantEventId,
    event: {
      type: "TenantEventReceived",
      data: {
        tenantEventId,
        event: parsed.value,
        publishedText: publishedText(message),
        source: message.source,
        ...(message.subject === undefined ? {} : { subject: message.subject }),
        receivedAt: message.receivedAt,
      },
    },
  };
}

/**
 * A transaction's id: from its signature when it carries a real one (the placeholder `0x00` of the
 * Asset Register documentation's example transaction is not), else from the message id, else new.
 * Equal ids mean the same transaction.
 */
export function transactionIdFor(transaction: Transaction, messageId: string | undefined): string {
  const signature = transaction.signature;
  if (typeof signature === "string" && /^0x[0-9a-fA-F]*[1-9a-fA-F][0-9a-fA-F]*$/.test(signature)) {
    return deterministicId("herald/transaction/signature", signature.toLowerCase());
  }
  if (messageId) return deterministicId("herald/transaction/message-id", messageId);
  return randomUUID();
}

export function parseTransaction(value: unknown): Parsed<Transaction> {
  if (!isObject(value)) return { ok: false, reason: "a transaction must be a JSON object" };
  if (typeof value.status !== "string") return { ok: false, reason: "status must be a string" };
  if (value.signature !== undefined && typeof value.signature !== "string")
    return { ok: false, reason: "signature must be a string" };
  if (!Array.isArray(value.events)) return { ok: false, reason: "events must be an array" };
  for (const [index, event] of value.events.entries()) {
    if (!isObject(event)) return { ok: false, reason: `events[${index}] must be an object` };
    for (const field of ["type", "action", "collectionId"] as const) {
      const text = event[field];
      if (typeof text !== "string" || text.length === 0)
        return { ok: false, reason: `events[${index}].${field} must be a non-empty string` };
    }
    if (event.args !== undefined && !Array.isArray(event.args))
      return { ok: false, reason: `events[${index}].args must be an array` };
  }
  return { ok: true, value: value as unknown as Transaction };
}

export function parseTenantEvent(value: unknown): Parsed<TenantEvent> {
  if (!isObject(value)) return { ok: false, reason: "a tenant event must be a JSON object" };
  for (const field of ["wallet_id", "topic"] as const) {
    const text = value[field];
    if (typeof text !== "string" || text.length === 0)
      return { ok: false, reason: `${field} must be a non-empty string` };
  }
  for (const field of ["origin", "group_id"] as const) {
    if (value[field] !== undefined && value[field] !== null && typeof value[field] !== "string") {
      return { ok: false, reason: `${field} must be a string` };
    }
  }
  if (!isObject(value.payload)) return { ok: false, reason: "payload must be an object" };
  return { ok: true, value: value as unknown as TenantEvent };
}

/** The body as text, exactly: it was checked to be UTF-8, and a byte-order mark stays. */
function publishedText(message: IngestMessage): string {
  return Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength).toString("utf8");
}

/** The message's body as JSON that the store can hold, in the shape `parse` wants. */
function readMessage<T>(message: IngestMessage, parse: (value: unknown) => Parsed<T>): Read<T> {
  const json = readJson(message);
  if (!json.ok) return json;
  // The message id and subject are stored with an accepted message: they must be storable too.
  const unstorable =
    findUnstorable(json.value) ?? findUnstorable({ messageId: message.messageId, subject: message.subject });
  if (unstorable) return { ok: false, ...unstorable };
  const parsed = parse(json.value);
  return parsed.ok ? parsed : { ok: false, code: "invalid_shape", reason: parsed.reason };
}

function readJson(message: IngestMessage): Read<unknown> {
  if (message.body.byteLength > message.maxBytes) {
    return {
      ok: false,
      code: "too_large",
      reason: `too large: ${message.body.byteLength} bytes, the limit is ${message.maxBytes}`,
    };
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(message.body);
  } catch {
    return { ok: false, code: "not_utf8", reason: "not valid UTF-8" };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, code: "not_json", reason: `not JSON: ${(error as Error).message}` };
  }
}

/**
 * The record of a refused message, on a stream of its own. Also for a message the store refused
 * after decoding let it through. Every text in it is made storable: the record of a refusal must not
 * fail as the message did.
 */
export function rejectMessage<Type extends "TransactionRejected" | "TenantEventRejected">(
  message: IngestMessage,
  refusal: Refusal,
  type: Type,
): IngestDecision<{ type: Type; data: IngestRejection }> {
  // A redelivered bad message has the same id, so it is recorded once.
  const id = message.messageId ? deterministicId(`herald/${type}`, message.messageId) : randomUUID();
  const excerpt = Buffer.from(message.body.subarray(0, EXCERPT_BYTES)).toString("utf8");
  return {
    accepted: false,
    stream: rejectedStream(id),
    expectedRevision: "no_stream",
    id,
    event: {
      type,
      data: {
        source: message.source,
        ...(message.subject === undefined ? {} : { subject: storableText(message.subject) }),
        ...(message.messageId === undefined ? {} : { messageId: storableText(message.messageId) }),
        code: refusal.code,
        reason: storableText(refusal.reason),
        sizeBytes: message.body.byteLength,
        excerpt: storableText(excerpt),
        receivedAt: message.receivedAt,
      },
    },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
