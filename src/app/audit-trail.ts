import type { Kysely } from "kysely";
import type { HeraldTables } from "../adapters/db/schema.js";
import type { EventStore, StoredEvent } from "../adapters/eventstore/event-store.js";
import { comparePositions, formatPosition } from "../adapters/eventstore/position.js";
import { type Caller, canRead } from "../domain/caller.js";
import { deliveryStream } from "../domain/delivery.js";
import { recoveryStream } from "../domain/delivery-recovery.js";
import { isResourceId } from "../domain/plain-text.js";
import { redactSecrets } from "../domain/redact-secrets.js";
import { endpointStream, subscriptionStream } from "../domain/webhook-events.js";
import { listRecoveryIds } from "../projections/recovery-requests.js";
import { foldWebhookEndpoint, foldWebhookSubscription, readWebhookEndpoint } from "./entity-streams.js";

/** The entities whose streams an auditor may read, one at a time. */
export type AuditSubject =
  | { readonly kind: "endpoint"; readonly webhookId: string }
  | { readonly kind: "subscription"; readonly subscriptionId: string }
  | { readonly kind: "delivery"; readonly deliveryId: string };

/** One event of an entity's stream as an auditor sees it: positions as text, secrets redacted. */
export interface AuditEntry {
  readonly type: string;
  readonly stream: string;
  readonly revision: string;
  readonly position: string;
  readonly at: string;
  readonly actor: string;
  readonly correlationId: string;
  readonly causationId: string;
  readonly data: unknown;
}

/**
 * The events of one entity's stream, in stream order, read from the event store itself (not a read
 * model), so deleted entities keep their history; with them, by log position, the recovery requests
 * about it that carried an idempotency key (each in a stream of its own). Undefined when the entity
 * does not exist or the caller may not read it: the two look the same, so existence does not leak.
 * `db` holds the read model that says which recovery streams to read.
 */
export async function readAuditTrail(
  store: EventStore,
  db: Kysely<HeraldTables>,
  caller: Caller,
  subject: AuditSubject,
): Promise<AuditEntry[] | undefined> {
  const id = subjectId(subject);
  if (!isResourceId(id)) return undefined;
  const events = await store.readStream(streamOf(subject));
  const owner = await ownerOf(store, subject, events);
  if (owner === undefined || !canRead(caller, owner)) return undefined;
  return inLogOrder(events, await readRecoveryRequests(store, db, subject)).map(toAuditEntry);
}

/** An endpoint's recovery requests, or a delivery's redeliver requests, by log position. */
async function readRecoveryRequests(
  store: EventStore,
  db: Kysely<HeraldTables>,
  subject: AuditSubject,
): Promise<StoredEvent[]> {
  if (subject.kind === "subscription") return [];
  const streams = await Promise.all(
    (await listRecoveryIds(db, subject)).map((id) => store.readStream(recoveryStream(id))),
  );
  return streams.flat().sort((a, b) => comparePositions(a.position, b.position));
}

/** The entity's own events keep their stream order; the others go in between by log position. */
function inLogOrder(own: readonly StoredEvent[], others: readonly StoredEvent[]): StoredEvent[] {
  const merged: StoredEvent[] = [];
  let next = 0;
  for (const event of own) {
    for (; next < others.length && comparePositions(others[next]!.position, event.position) < 0; next++)
      merged.push(others[next]!);
    merged.push(event);
  }
  return [...merged, ...others.slice(next)];
}

function subjectId(subject: AuditSubject): string {
  switch (subject.kind) {
    case "endpoint":
      return subject.webhookId;
    case "subscription":
      return subject.subscriptionId;
    case "delivery":
      return subject.deliveryId;
  }
}

function streamOf(subject: AuditSubject): string {
  switch (subject.kind) {
    case "endpoint":
      return endpointStream(subject.webhookId);
    case "subscription":
      return subscriptionStream(subject.subscriptionId);
    case "delivery":
      return deliveryStream(subject.deliveryId);
  }
}

/** The subscriber who owns the entity; a delivery belongs to the owner of its endpoint. */
async function ownerOf(
  store: EventStore,
  subject: AuditSubject,
  events: readonly StoredEvent[],
): Promise<string | undefined> {
  switch (subject.kind) {
    case "endpoint":
      return foldWebhookEndpoint(events)?.subscriber;
    case "subscription":
      return foldWebhookSubscription(events)?.subscriber;
    case "delivery": {
      // Every delivery stream opens with DeliveryScheduled, which names the endpoint.
      const webhookId = (events[0]?.data as { webhookId?: unknown } | undefined)?.webhookId;
      if (typeof webhookId !== "string") return undefined;
      return (await readWebhookEndpoint(store, webhookId))?.subscriber;
    }
  }
}

function toAuditEntry(event: StoredEvent): AuditEntry {
  const { actor, at, correlationId, causationId } = event.metadata;
  return {
    type: event.type,
    stream: event.stream,
    revision: event.revision.toString(),
    position: formatPosition(event.position),
    at,
    actor,
    correlationId,
    causationId,
    data: redactSecrets(event.data),
  };
}
