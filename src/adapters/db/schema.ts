import type { ColumnType, Generated } from "kysely";
import type { DeliveryHistoryTables } from "../../projections/delivery-history.js";
import type { DeliveryQueueTables } from "../../projections/delivery-queue.js";
import type { RecoveryRequestsTables } from "../../projections/recovery-requests.js";
import type { WalletGroupsTables } from "../../projections/wallet-groups.js";
import type { WebhookEndpointsTables } from "../../projections/webhook-endpoints.js";
import type { WebhookSubscriptionsTables } from "../../projections/webhook-subscriptions.js";
import type { DispatcherTables } from "../../reactions/dispatch-auditor.js";
import type { EndpointHealthTables } from "../../reactions/endpoint-health.js";

/**
 * Every table of herald's database: the event log's and each read model's. Projections and
 * reactors declare their tables next to their code; this is the one interface kysely is typed with.
 */
export interface HeraldTables
  extends CoreTables,
    DeliveryHistoryTables,
    DeliveryQueueTables,
    RecoveryRequestsTables,
    WalletGroupsTables,
    WebhookEndpointsTables,
    WebhookSubscriptionsTables,
    DispatcherTables,
    EndpointHealthTables {}

/** The tables every herald database has, whatever its read models. */
export interface CoreTables {
  herald_events: EventsTable;
  herald_streams: StreamsTable;
  herald_checkpoints: CheckpointsTable;
}

export interface EventsTable {
  position: Generated<bigint>;
  /** xid8 of the appending transaction; read as text and converted. */
  transaction_id: ColumnType<string, never, never>;
  event_id: string;
  stream: string;
  revision: bigint;
  type: string;
  data: ColumnType<unknown, string, string>;
  metadata: ColumnType<unknown, string, string>;
  recorded_at: ColumnType<Date, never, never>;
}

export interface StreamsTable {
  stream: string;
  revision: bigint;
}

export interface CheckpointsTable {
  projection: string;
  /** `formatPosition` text, or "start". */
  position: string;
  /** The projection's version when it wrote this checkpoint; a newer version rebuilds. */
  version: number;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}
