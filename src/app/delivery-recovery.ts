import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { HeraldTables } from "../adapters/db/schema.js";
import { eventMetadata } from "../adapters/eventstore/event-metadata.js";
import type { EventMetadata, EventStore, Position } from "../adapters/eventstore/event-store.js";
import { type CommandOutcome, handleCommand } from "../commands/handle-command.js";
import type { Caller } from "../domain/caller.js";
import type { Refusal } from "../domain/decision.js";
import { deliveryDecider, deliveryStream } from "../domain/delivery.js";
import type { DeliveryHistory } from "../domain/delivery-history.js";
import {
  type DeliveryAtRevision,
  type FailedDelivery,
  failedDelivery,
  idempotencyKeyRefusal,
  mayRecoverDeliveries,
  type RecoveryRequest,
  recordedRedeliveryDecider,
  recoveryDecider,
  recoveryId,
  recoveryStream,
} from "../domain/delivery-recovery.js";
import { transactionBody } from "../domain/ingest-events.js";
import { isResourceId } from "../domain/plain-text.js";
import { listDeliveryHistories } from "../projections/delivery-history.js";
import type { PageKey } from "../projections/keyset-page.js";
import type { ProjectionMember } from "../projections/projection-group.js";
import { readDeliveryAtRevision, readDeliveryHistory, readWebhookEndpoint } from "./entity-streams.js";
import { awaitReadModels } from "./read-your-writes.js";

export interface DeliveryRecoveryOptions {
  readonly store: EventStore;
  /** The read models' database: recoverDeliveries finds the window's failed deliveries there. */
  readonly db: Kysely<HeraldTables>;
  /** What must show a redelivery before the answer goes out (the delivery history: read-your-writes). */
  readonly historyReadModels: readonly ProjectionMember[];
  /** What must show a recorded request before the answer goes out (the index behind audit trails). */
  readonly recoveryReadModels: readonly ProjectionMember[];
  readonly logger: Logger;
  readonly readYourWritesMs?: number;
}

export type RecoveryOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: Refusal };

type Window = { readonly since?: number | undefined; readonly until?: number | undefined };

const PAGE_SIZE = 100;

const DELIVERY_NOT_FOUND: Refusal = { code: "NOT_FOUND", message: "delivery not found" };

/**
 * Redelivery: a failed delivery gets one more attempt, recorded in its own stream, so it
 * lands in the same history. Each delivery is decided on its stream and appended with the revision
 * read; only a failed delivery is taken back, so a request repeated (or sent twice at once) while
 * the redelivered attempt is pending or after it succeeded sends nothing more. With an idempotency
 * key the request itself is recorded, and a repeat sends nothing even after that attempt failed
 * again (src/domain/delivery-recovery.ts).
 */
export class DeliveryRecovery {
  constructor(private readonly options: DeliveryRecoveryOptions) {}

  async redeliver(
    caller: Caller,
    deliveryId: string,
    idempotencyKey?: string,
  ): Promise<RecoveryOutcome<{ delivery: DeliveryHistory; redelivered: boolean }>> {
    const badKey = idempotencyKey === undefined ? undefined : idempotencyKeyRefusal(idempotencyKey);
    if (badKey) return { ok: false, error: badKey };
    const history = isResourceId(deliveryId) ? await readDeliveryHistory(this.options.store, deliveryId) : undefined;
    if (!history) return { ok: false, error: DELIVERY_NOT_FOUND };
    const refusal = mayRecoverDeliveries(
      caller,
      history.webhookId,
      await readWebhookEndpoint(this.options.store, history.webhookId),
    );
    // Another subscriber's delivery answers as an unknown one does: not even its endpoint's id leaks.
    if (refusal) return { ok: false, error: refusal.code === "NOT_FOUND" ? DELIVERY_NOT_FOUND : refusal };
    const outcome =
      idempotencyKey === undefined
        ? await this.#redeliverFailed(caller, [[history]])
        : await this.#recoverOnce(
            caller,
            idempotencyKey,
            { mutation: "redeliver", webhookId: history.webhookId, deliveryId },
            async () => {
              const failed = await this.#failedNow(deliveryId);
              return failed ? [failed] : [];
            },
          );
    if (!outcome.ok) return outcome;
    const delivery = (await readDeliveryHistory(this.options.store, deliveryId)) ?? history;
    return { ok: true, value: { delivery, redelivered: outcome.value.length > 0 } };
  }

  /** Every delivery of the endpoint scheduled in [since, until) that failed; returns those taken back. */
  async recover(
    caller: Caller,
    webhookId: string,
    window: Window,
    idempotencyKey?: string,
  ): Promise<RecoveryOutcome<string[]>> {
    const badKey = idempotencyKey === undefined ? undefined : idempotencyKeyRefusal(idempotencyKey);
    if (badKey) return { ok: false, error: badKey };
    const endpoint = isResourceId(webhookId) ? await readWebhookEndpoint(this.options.store, webhookId) : undefined;
    const refusal = mayRecoverDeliveries(caller, webhookId, endpoint);
    if (refusal) return { ok: false, error: refusal };
    const outcome =
      idempotencyKey === undefined
        ? await this.#redeliverFailed(caller, this.#failedPages(webhookId, window))
        : await this.#recoverOnce(caller, idempotencyKey, { mutation: "recoverDeliveries", webhookId, ...window }, () =>
            this.#failedIn(webhookId, window),
          );
    if (outcome.ok)
      this.options.logger.info(
        { webhookId, redelivered: outcome.value.length, actor: caller.address },
        "deliveries recovered",
      );
    return outcome;
  }

  /** Without a key: each delivery, page by page, that is failed on its own stream; returns those taken back. */
  async #redeliverFailed(
    caller: Caller,
    pages: AsyncIterable<readonly DeliveryHistory[]> | Iterable<readonly DeliveryHistory[]>,
  ): Promise<RecoveryOutcome<string[]>> {
    const metadata = eventMetadata(caller.address);
    const redelivered: string[] = [];
    const positions: Position[] = [];
    for await (const page of pages) {
      const outcomes = await Promise.all(page.map((history) => this.#redeliverOne(metadata, history)));
      for (const [index, outcome] of outcomes.entries()) {
        // Repeating the request is safe (see above), so a lost race asks the caller to.
        if (!outcome.ok) return outcome;
        if (!outcome.value) continue;
        redelivered.push(page[index]!.deliveryId);
        positions.push(outcome.value);
      }
    }
    await this.#visible(positions, this.options.historyReadModels);
    return { ok: true, value: redelivered };
  }

  /** The position of the redelivery appended, or undefined when the delivery is not failed (any more). */
  async #redeliverOne(
    metadata: EventMetadata,
    history: DeliveryHistory,
  ): Promise<RecoveryOutcome<Position | undefined>> {
    const { deliveryId, webhookId } = history;
    const outcome = await handleCommand(
      this.options.store,
      deliveryStream(deliveryId),
      deliveryDecider,
      { type: "Redeliver", deliveryId, webhookId, ...transactionBody(history), now: Date.now() },
      { metadata },
    );
    return outcome.ok ? { ok: true, value: outcome.position } : outcome;
  }

  /**
   * A request with an idempotency key. It is recorded before any delivery is taken back, because
   * the record is what makes a repeat harmless: appended with expected revision no_stream, it claims
   * the key (of two concurrent requests one wins; one with other arguments is refused before it has
   * sent anything), and it names each delivery with the revision where it failed. Every run, the
   * first and each repeat, then takes back only the named deliveries still at that revision. So a
   * crash between the record and the redeliveries sends nothing twice and loses nothing: the client,
   * left without an answer, repeats, and the repeat sends what is missing. The other order would
   * leave redeliveries without a record after a crash, and the repeat, finding the redelivered
   * attempts failed again, would send them again.
   */
  async #recoverOnce(
    caller: Caller,
    idempotencyKey: string,
    request: RecoveryRequest,
    failedNow: () => Promise<FailedDelivery[]>,
  ): Promise<RecoveryOutcome<string[]>> {
    const { store } = this.options;
    const id = recoveryId(caller.address, idempotencyKey);
    const stream = recoveryStream(id);
    const metadata = eventMetadata(caller.address);
    // A repeat answers from the record: it need not look for failed deliveries again.
    const repeat = (await store.readStream(stream, { maxCount: 1 })).length > 0;
    const failed = repeat ? [] : await failedNow();
    const recorded = await handleCommand(
      store,
      stream,
      recoveryDecider,
      { type: "RequestRecovery", recoveryId: id, idempotencyKey, request, failed },
      { metadata },
    );
    if (!recorded.ok) return recorded;
    // The decider has either recorded the request or found it recorded.
    const { deliveries } = recorded.state!;
    const positions: Position[] = [];
    for (let start = 0; start < deliveries.length; start += PAGE_SIZE) {
      const outcomes = await Promise.all(
        deliveries.slice(start, start + PAGE_SIZE).map((delivery) => this.#redeliverRecorded(metadata, delivery)),
      );
      for (const outcome of outcomes) {
        if (!outcome.ok) return outcome;
        if (outcome.position) positions.push(outcome.position);
      }
    }
    await Promise.all([
      this.#visible(positions, this.options.historyReadModels),
      this.#visible([recorded.position], this.options.recoveryReadModels),
    ]);
    return { ok: true, value: deliveries.map((delivery) => delivery.deliveryId) };
  }

  #redeliverRecorded(metadata: EventMetadata, recorded: FailedDelivery): Promise<CommandOutcome<DeliveryAtRevision>> {
    return handleCommand(
      this.options.store,
      deliveryStream(recorded.deliveryId),
      recordedRedeliveryDecider,
      { type: "RedeliverRecorded", recorded, now: Date.now() },
      { metadata },
    );
  }

  /** The window's failed deliveries, by the read model, page by page: each is decided on its stream. */
  async *#failedPages(webhookId: string, window: Window): AsyncGenerator<readonly DeliveryHistory[]> {
    // Keyset pages stay stable while the redelivered rows leave the "failed" filter behind the cursor.
    let after: PageKey | undefined;
    for (;;) {
      const page = await listDeliveryHistories(
        this.options.db,
        { webhookId, status: "failed", ...window },
        { first: PAGE_SIZE, after },
      );
      yield page.rows;
      const last = page.rows.at(-1);
      if (!page.hasNextPage || !last) return;
      after = { createdAt: last.scheduledAt, id: last.deliveryId };
    }
  }

  async #failedIn(webhookId: string, window: Window): Promise<FailedDelivery[]> {
    const failed: FailedDelivery[] = [];
    for await (const page of this.#failedPages(webhookId, window)) {
      for (const found of await Promise.all(page.map((history) => this.#failedNow(history.deliveryId))))
        if (found) failed.push(found);
    }
    return failed;
  }

  /** On the delivery's own stream, since the read model may lag. */
  async #failedNow(deliveryId: string): Promise<FailedDelivery | undefined> {
    return failedDelivery(deliveryId, await readDeliveryAtRevision(this.options.store, deliveryId));
  }

  #visible(positions: readonly (Position | undefined)[], readModels: readonly ProjectionMember[]): Promise<void> {
    const timeoutMs = this.options.readYourWritesMs ?? 5000;
    return awaitReadModels(positions, readModels, { timeoutMs, logger: this.options.logger, after: "a recovery" });
  }
}
