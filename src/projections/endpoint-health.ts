import { sql, type Transaction } from "kysely";
import type { Logger } from "pino";
import { eventMetadata } from "../adapters/eventstore/event-metadata.js";
import type { EventStore, StoredEvent } from "../adapters/eventstore/event-store.js";
import type { DeliveryAttempted, DeliveryScheduled } from "../domain/delivery.js";
import { type AttemptObservation, decideEndpointHealthOf, type EndpointHealthRules, observeAttempt } from "../domain/endpoint-health.js";
import { evolveWebhookEndpoint, type WebhookEndpointState } from "../domain/webhook-endpoint.js";
import { endpointStream, type WebhookEndpointEvent } from "../domain/webhook-events.js";
import { runCommand } from "../app/run-command.js";
import type { Projection } from "./projection.js";

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
export interface EndpointHealthTables {
  endpoint_health_deliveries: { delivery_id: string; webhook_id: string };
}

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

interface PendingHealth {
  readonly observations: AttemptObservation[];
  /** The last attempt observed: the cause of what is appended. */
  cause: StoredEvent;
}

export function endpointHealthProjection(options: EndpointHealthOptions): Projection<EndpointHealthTables> {
  // Keyed by endpoint, gathered under one batch's transaction: a batch that failed part way is
  // handled again under a new transaction, and must not observe its attempts twice.
  const pending = new Map<string, PendingHealth>();
  let gatheredIn: Transaction<EndpointHealthTables> | undefined;

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
      pending.clear();
    },

    async teardown(db) {
      await sql`drop table if exists endpoint_health_deliveries`.execute(db);
    },

    async handle(trx, event) {
      if (gatheredIn !== trx) {
        pending.clear();
        gatheredIn = trx;
      }
      if (event.type === "DeliveryScheduled") {
        const { deliveryId, webhookId } = (event as StoredEvent<string, DeliveryScheduled["data"]>).data;
        await trx
          .insertInto("endpoint_health_deliveries")
          .values({ delivery_id: deliveryId, webhook_id: webhookId })
          .onConflict((oc) => oc.column("delivery_id").doNothing())
          .execute();
        return;
      }
      const attempt = (event as StoredEvent<string, DeliveryAttempted["data"]>).data;
      const row = await trx.selectFrom("endpoint_health_deliveries").select("webhook_id").where("delivery_id", "=", attempt.deliveryId).executeTakeFirst();
      if (!row) return;
      const health = pending.get(row.webhook_id);
      if (health) {
        health.observations.push(observeAttempt(attempt));
        health.cause = event;
      } else {
        pending.set(row.webhook_id, { observations: [observeAttempt(attempt)], cause: event });
      }
    },

    async afterBatch() {
      const batch = [...pending];
      pending.clear();
      gatheredIn = undefined;
      await Promise.all(batch.map(([webhookId, health]) => record(webhookId, health)));
    },
  };

  async function record(webhookId: string, { observations, cause }: PendingHealth): Promise<void> {
    const outcome = await runCommand<WebhookEndpointState, WebhookEndpointEvent>(options.store, {
      stream: endpointStream(webhookId),
      initial: undefined,
      evolve: evolveWebhookEndpoint,
      decide: (state) => decideEndpointHealthOf(observations, state, options.rules),
      metadata: eventMetadata(ENDPOINT_HEALTH_ACTOR, { correlationId: cause.metadata.correlationId, causationId: cause.id }),
    });
    if (!outcome.ok) throw new EndpointHealthConflictError(webhookId);
    if (outcome.position && outcome.state?.disabledReason) options.logger.info({ webhookId, reason: outcome.state.disabledReason }, "endpoint disabled");
  }
}
