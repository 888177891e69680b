import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { eventMetadata } from "../adapters/eventstore/event-metadata.js";
import type { EventStore, Position } from "../adapters/eventstore/event-store.js";
import type { Caller } from "../domain/caller.js";
import { accept, type Decision, type Refusal } from "../domain/decision.js";
import { type DeliveryEvent, type DeliveryState, decide, deliveryStream, evolve, initialDeliveryState } from "../domain/delivery.js";
import type { DeliveryHistory } from "../domain/delivery-history.js";
import { mayRecoverDeliveries } from "../domain/delivery-recovery.js";
import { isResourceId } from "../domain/plain-text.js";
import { listDeliveryHistories } from "../projections/delivery-history.js";
import type { PageKey } from "../projections/keyset-page.js";
import { ProjectionTimeoutError, type ProjectionRunner } from "../projections/projection-runner.js";
import { readDeliveryHistory, readWebhookEndpoint } from "./entity-streams.js";
import { runCommand } from "./run-command.js";

export interface DeliveryRecoveryOptions {
  readonly store: EventStore;
  /** The read models' database: recoverDeliveries finds the window's failed deliveries there. */
  readonly db: Kysely<any>;
  /** What must show a redelivery before the answer goes out (the delivery history: read-your-writes). */
  readonly historyReadModels: readonly ProjectionRunner[];
  readonly logger: Logger;
  readonly readYourWritesMs?: number;
}

export type RecoveryOutcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: Refusal };

const PAGE_SIZE = 100;

/**
 * Redelivery (issue 6): a failed delivery gets one more attempt, recorded in its own stream, so it
 * lands in the same history. Each delivery is decided on its stream and appended with the revision
 * read; only a failed delivery is taken back, so a request repeated (or sent twice at once) while
 * the redelivered attempt is pending or after it succeeded sends nothing more.
 */
export class DeliveryRecovery {
  constructor(private readonly options: DeliveryRecoveryOptions) {}

  async redeliver(caller: Caller, deliveryId: string): Promise<RecoveryOutcome<{ delivery: DeliveryHistory; redelivered: boolean }>> {
    const history = isResourceId(deliveryId) ? await readDeliveryHistory(this.options.store, deliveryId) : undefined;
    if (!history) return { ok: false, error: { code: "NOT_FOUND", message: "delivery not found" } };
    const refusal = mayRecoverDeliveries(caller, history.webhookId, await readWebhookEndpoint(this.options.store, history.webhookId));
    if (refusal) return { ok: false, error: refusal };
    const outcome = await this.#redeliverOne(caller, history);
    if (!outcome.ok) return outcome;
    const position = outcome.value;
    await this.#visible(position ? [position] : []);
    return { ok: true, value: { delivery: (await readDeliveryHistory(this.options.store, deliveryId)) ?? history, redelivered: position !== undefined } };
  }

  /** Every delivery of the endpoint scheduled in [since, until) that failed; returns those taken back. */
  async recover(caller: Caller, webhookId: string, window: { since?: number | undefined; until?: number | undefined }): Promise<RecoveryOutcome<string[]>> {
    const endpoint = isResourceId(webhookId) ? await readWebhookEndpoint(this.options.store, webhookId) : undefined;
    const refusal = mayRecoverDeliveries(caller, webhookId, endpoint);
    if (refusal) return { ok: false, error: refusal };
    const redelivered: string[] = [];
    const positions: Position[] = [];
    // Keyset pages stay stable while the redelivered rows leave the "failed" filter behind the cursor.
    let after: PageKey | undefined;
    for (;;) {
      const page = await listDeliveryHistories(this.options.db, { webhookId, status: "failed", ...window }, { first: PAGE_SIZE, after });
      const outcomes = await Promise.all(page.rows.map((history) => this.#redeliverOne(caller, history)));
      for (const [index, outcome] of outcomes.entries()) {
        // Repeating the request is safe (see above), so a lost race asks the caller to.
        if (!outcome.ok) return outcome;
        if (!outcome.value) continue;
        redelivered.push(page.rows[index]!.deliveryId);
        positions.push(outcome.value);
      }
      const last = page.rows.at(-1);
      if (!page.hasNextPage || !last) break;
      after = { createdAt: last.scheduledAt, id: last.deliveryId };
    }
    await this.#visible(positions);
    this.options.logger.info({ webhookId, redelivered: redelivered.length, actor: caller.address }, "deliveries recovered");
    return { ok: true, value: redelivered };
  }

  /** The position of the redelivery appended, or undefined when the delivery is not failed (any more). */
  async #redeliverOne(caller: Caller, history: DeliveryHistory): Promise<RecoveryOutcome<Position | undefined>> {
    const { deliveryId, webhookId, transaction } = history;
    const outcome = await runCommand<DeliveryState, DeliveryEvent>(this.options.store, {
      stream: deliveryStream(deliveryId),
      initial: initialDeliveryState,
      evolve,
      decide: (state): Decision<DeliveryEvent> => {
        const decision = decide({ type: "Redeliver", deliveryId, webhookId, transaction, now: Date.now() }, state);
        // Not failed: already taken back by an earlier request, or never failed. Nothing to do.
        return decision.ok ? accept(...decision.events) : accept();
      },
      metadata: eventMetadata(caller.address),
    });
    return outcome.ok ? { ok: true, value: outcome.position } : outcome;
  }

  /** Bounded: on timeout the redelivery stands and the answer goes out; only a later read may lag. */
  async #visible(positions: readonly Position[]): Promise<void> {
    const last = positions.reduce<Position | undefined>(
      (max, position) => (!max || position.commit > max.commit || (position.commit === max.commit && position.prepare > max.prepare) ? position : max),
      undefined,
    );
    if (!last) return;
    try {
      await Promise.all(this.options.historyReadModels.map((runner) => runner.waitFor(last, this.options.readYourWritesMs ?? 5000)));
    } catch (error) {
      if (!(error instanceof ProjectionTimeoutError)) throw error;
      this.options.logger.warn({ err: error }, "delivery history lags behind a redelivery; answering without waiting");
    }
  }
}
