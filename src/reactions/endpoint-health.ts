import { sql, type Transaction } from "kysely";
import type { Logger } from "pino";
import type { HeraldTables } from "../adapters/db/schema.js";
import { eventMetadata } from "../adapters/eventstore/event-metadata.js";
import type { EventStore, StoredEvent } from "../adapters/eventstore/event-store.js";
import { handleCommand } from "../commands/handle-command.js";
import type { DeliveryAttempted, DeliveryScheduled } from "../domain/delivery.js";
import {
  type AttemptObservation,
  type EndpointHealthRules,
  endpointHealthDecider,
  observeAttempt,
} from "../domain/endpoint-health.js";
import { endpointStream } from "../domain/webhook-events.js";
import type { Projection } from "../projections/projection.js";

export interface EndpointHealthOptions {
  readonly store: EventStore;
  readonly rules: EndpointHealthRules;
  readonly logger: Logger;
}

export const ENDPOINT_HEALTH_ACTOR = "system:endpoint-health";

export class EndpointHealthConflictError extends Error {
  readonly code = "ENDPOINT_HEALTH_CONFLICT";
  constructor(readonly webhookId: string) {
    super(`endpoint ${webhookId} kept changing while its health was recorded; the batch will be retried`);
    this.name = "EndpointHealthConflictError";
  }
}

/** A batch's events, in log order: deliveries scheduled (delivery → endpoint) and attempts. */
class GatheredBatch {
  readonly scheduled = new Map<string, string>();
  readonly attempts: StoredEvent<DeliveryAttempted>[] = [];
}

interface PendingHealth {
  readonly observations: AttemptObservation[];
  /** The last attempt observed: the cause of what is appended. */
  cause: StoredEvent;
}

/**
 * Endpoint health as a reaction: follows delivery attempts and appends what they mean for their
 * endpoint (WebhookEndpointFailing, Recovered, Disabled; endpoint-health.ts decides). A projection,
 * so that it runs in one process at a time and resumes from its checkpoint after a crash.
 *
 * Like the dispatcher, it appends after its batch and before the checkpoint commits, so a crash in
 * between replays the batch. Each append folds the endpoint's stream and uses its revision
 * (a concurrent owner's command makes it decide again), and the decision is idempotent in that
 * state, so replayed attempts append nothing new.
 *
 * DeliveryAttempted names the delivery, not the endpoint: the table maps one to the other.
 */
export function endpointHealthProjection(
  options: EndpointHealthOptions,
): Projection<DeliveryScheduled | DeliveryAttempted> {
  // Gathered under one batch's transaction and written after it: a batch that failed part way is
  // handled again under a new transaction, and must not observe its attempts twice.
  let batch = new GatheredBatch();
  let gatheredIn: Transaction<HeraldTables> | undefined;
  const decider = endpointHealthDecider(options.rules);

  return {
    name: "endpoint-health",
    version: 1,
    eventTypes: ["DeliveryScheduled", "DeliveryAttempted"],

    async setup(db) {
      await sql`
        create table if not exists endpoint_health_deliveries (
          delivery_id text primary key,
          webhook_id text not null
        )`.execute(db);
      batch = new GatheredBatch();
    },

    async teardown(db) {
      await sql`drop table if exists endpoint_health_deliveries`.execute(db);
    },

    async handle(trx, event) {
      if (gatheredIn !== trx) {
        batch = new GatheredBatch();
        gatheredIn = trx;
      }
      if (event.type === "DeliveryScheduled") {
        const { deliveryId, webhookId } = event.data;
        batch.scheduled.set(deliveryId, webhookId);
      } else {
        batch.attempts.push(event);
      }
    },

    async afterBatch(trx) {
      const { scheduled, attempts } = batch;
      batch = new GatheredBatch();
      gatheredIn = undefined;
      if (scheduled.size > 0) {
        await trx
          .insertInto("endpoint_health_deliveries")
          .values([...scheduled].map(([delivery_id, webhook_id]) => ({ delivery_id, webhook_id })))
          .onConflict((oc) => oc.column("delivery_id").doNothing())
          .execute();
      }
      if (attempts.length === 0) return;
      // One lookup for the batch: DeliveryAttempted names the delivery, not the endpoint.
      const endpoints = new Map(scheduled);
      const unknown = [...new Set(attempts.map((attempt) => attempt.data.deliveryId))].filter(
        (id) => !endpoints.has(id),
      );
      if (unknown.length > 0) {
        const rows = await trx
          .selectFrom("endpoint_health_deliveries")
          .select(["delivery_id", "webhook_id"])
          .where("delivery_id", "in", unknown)
          .execute();
        for (const row of rows) endpoints.set(row.delivery_id, row.webhook_id);
      }
      const pending = new Map<string, PendingHealth>();
      for (const attempt of attempts) {
        const webhookId = endpoints.get(attempt.data.deliveryId);
        if (webhookId === undefined) continue;
        const health = pending.get(webhookId);
        if (health) {
          health.observations.push(observeAttempt(attempt.data));
          health.cause = attempt;
        } else {
          pending.set(webhookId, { observations: [observeAttempt(attempt.data)], cause: attempt });
        }
      }
      await Promise.all([...pending].map(([webhookId, health]) => record(webhookId, health)));
    },
  };

  async function record(webhookId: string, { observations, cause }: PendingHealth): Promise<void> {
    const metadata = eventMetadata(ENDPOINT_HEALTH_ACTOR, {
      correlationId: cause.metadata.correlationId,
      causationId: cause.id,
    });
    const command = { type: "ObserveAttempts", observations } as const;
    const outcome = await handleCommand(options.store, endpointStream(webhookId), decider, command, { metadata });
    if (!outcome.ok) throw new EndpointHealthConflictError(webhookId);
    if (outcome.position && outcome.state?.disabledReason)
      options.logger.info({ webhookId, reason: outcome.state.disabledReason }, "endpoint disabled");
  }
}
