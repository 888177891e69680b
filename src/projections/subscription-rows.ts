import type { Kysely } from "kysely";
import type { HeraldTables } from "../adapters/db/schema.js";
import type { SubscriptionIndexEvent } from "../domain/subscription-matching.js";
import type { WebhookSubscriptionCreated } from "../domain/webhook-events.js";
import { type BulkColumn, deleteRows, insertRows } from "./bulk-write.js";

/** What a table of live subscriptions is keyed and deleted by. */
interface SubscriptionRow {
  readonly subscription_id: string;
  readonly webhook_id: string;
}

export interface SubscriptionTable<Row extends SubscriptionRow> {
  readonly name: string;
  readonly columns: readonly BulkColumn<Row>[];
  readonly toRow: (data: WebhookSubscriptionCreated["data"]) => Row;
  /** How the insert meets a row already there (none: it fails, as a plain insert does). */
  readonly onConflict?: { readonly key: keyof Row & string; readonly update: boolean };
}

/**
 * A batch's net changes to a table with one row per live subscription, folded in log order: a
 * subscription created and deleted in the batch is never written, and deleting an endpoint takes the
 * subscriptions created before it in the batch as well as the table's. Written with two deletes and
 * one insert, however many events the batch had.
 */
export class SubscriptionRowChanges<Row extends SubscriptionRow> {
  readonly #table: SubscriptionTable<Row>;
  readonly #created = new Map<string, Row>();
  readonly #deleted = new Set<string>();
  readonly #endpointsDeleted = new Set<string>();

  constructor(table: SubscriptionTable<Row>) {
    this.#table = table;
  }

  apply(event: SubscriptionIndexEvent): void {
    switch (event.type) {
      case "WebhookSubscriptionCreated":
        this.#created.set(event.data.subscriptionId, this.#table.toRow(event.data));
        return;
      case "WebhookSubscriptionDeleted":
        this.#created.delete(event.data.subscriptionId);
        this.#deleted.add(event.data.subscriptionId);
        return;
      case "WebhookEndpointDeleted":
        for (const [id, row] of this.#created) if (row.webhook_id === event.data.webhookId) this.#created.delete(id);
        this.#endpointsDeleted.add(event.data.webhookId);
        return;
    }
  }

  async write(db: Kysely<HeraldTables>): Promise<void> {
    const { name, columns, onConflict } = this.#table;
    // The deletes reach only rows from earlier batches: this batch's own were taken out above, and
    // what it created after a delete is inserted after it.
    await deleteRows(db, name, "subscription_id", this.#deleted);
    await deleteRows(db, name, "webhook_id", this.#endpointsDeleted);
    await insertRows(db, name, columns, [...this.#created.values()], onConflict);
  }
}
