import type { ColumnType, Generated } from "kysely";
import type { DeliveryHistory, DeliveryHistoryStatus } from "../../domain/delivery-history.js";
import type { EndpointDisabledReason } from "../../domain/webhook-events.js";

/**
 * Every table of herald's database: the event log's and each read model's, in one place, the one
 * interface kysely is typed with. Each projection or reactor creates and writes only its own tables.
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

/**
 * The delivery history read model: one row per delivery, kept forever (unlike the queue, which
 * forgets finished deliveries), with its whole history as JSON and the columns that lists filter
 * and page on. `created_at` is the time the delivery was scheduled.
 */
export interface DeliveryHistoryTables {
  delivery_history: {
    delivery_id: string;
    webhook_id: string;
    status: DeliveryHistoryStatus;
    created_at: bigint;
    history: DeliveryHistory;
  };
}

/**
 * The delivery queue: a read model of the delivery streams (what is pending, when it is due, at
 * which stream revision) plus what an attempt needs to know about each endpoint (URL, retries, the
 * sealed API key and secret, whether it is active). Workers claim due rows with
 * `FOR UPDATE SKIP LOCKED` and a lease, so two workers never attempt one delivery at once and a
 * dead worker's claim expires. A delivery handed off at ingest (its DeliveryScheduled carries a
 * lease) arrives claimed by the worker attempting it; its lease ends like any claim's. A row leaves
 * the queue when its delivery succeeds or fails for good, and comes back when a failed delivery is
 * redelivered.
 */
export interface DeliveryQueueTables {
  delivery_queue: {
    delivery_id: string;
    webhook_id: string;
    payload: string;
    correlation_id: string;
    state: "pending" | "paused";
    attempts: number;
    /** The delivery stream's last revision: a worker appends expecting exactly this. */
    revision: bigint;
    due_at: Date;
    leased_until: Date | null;
    /** The worker holding the lease (one per process). */
    leased_by: string | null;
  };
  delivery_endpoints: {
    webhook_id: string;
    url: string;
    retries: number;
    /** Attempts per second at most; null: no limit. */
    rate_limit: number | null;
    /** The limit's theoretical arrival time in ms (rate-limit.ts); kept by workers, not by events. */
    rate_tat_ms: number | null;
    api_key: string;
    signing_secret: string;
    status: "active" | "paused" | "deleted";
  };
}

/**
 * Which recovery requests concern an endpoint or a delivery. Their streams are named after (caller,
 * key), which says nothing about the endpoint, so audit trails find them here and read them from
 * the event store; without this index that would be a scan of the whole log per trail.
 */
export interface RecoveryRequestsTables {
  recovery_requests: {
    recovery_id: string;
    webhook_id: string;
    /** Only for redeliver: the one delivery it names. */
    delivery_id: string | null;
  };
}

/**
 * Each wallet's group, from the newest tenant event of the wallet that names one, so that a
 * tenant-admin of another group is refused at once (see mayWaitOn) however long ago the wallet was
 * last seen, without any process holding every wallet in memory.
 */
export interface WalletGroupsTables {
  wallet_groups: {
    wallet_id: string;
    group_id: string;
  };
}

/**
 * The webhook endpoints read model: one row per endpoint that is not deleted. Secrets stay sealed
 * here; only the owner's query and the delivery worker open them.
 */
export interface WebhookEndpointsTables {
  webhook_endpoints: {
    webhook_id: string;
    subscriber: string;
    url: string;
    retries: number;
    rate_limit: number | null;
    api_key: string;
    signing_secret: string;
    paused: boolean;
    created_at: bigint;
    failing_since: bigint | null;
    disabled_reason: EndpointDisabledReason | null;
  };
}

/**
 * The webhook subscriptions read model: one row per live subscription. Deleting an endpoint
 * removes its subscriptions here too, since they can no longer be read through it.
 */
export interface WebhookSubscriptionsTables {
  webhook_subscriptions: {
    subscription_id: string;
    webhook_id: string;
    subscriber: string;
    type: string;
    /** jsonb array of strings. */
    actions: string[];
    collection_id: string;
    created_at: bigint;
  };
}

/**
 * The dispatch auditor: keeps the live subscriptions (a table, and the in-memory index built from
 * it) and makes sure each TransactionReceived has one DeliveryScheduled per matching endpoint, in
 * log order. Ingest schedules them itself in the append of the transaction (ingest-scheduler.ts),
 * so on PostgreSQL every append here is refused as already done; what it does write is a repair
 * (EventStoreDB, where the two are separate appends, or a transaction appended by something else).
 *
 * Appending is a side effect outside the runner's transaction, so it is made idempotent: each
 * delivery's stream is created with expected revision no_stream, and a stream that exists means
 * "already scheduled". The appends of a batch go out together before its checkpoint commits, so a
 * crash in between replays the batch and the replayed appends are dropped.
 *
 * It also stores the revision of the last SubscriptionSetChanged it applied with its table, so that
 * a process's delivery directory can start from the table instead of the whole log.
 */
export interface DispatcherTables {
  dispatcher_subscriptions: {
    subscription_id: string;
    webhook_id: string;
    type: string;
    actions: string[];
    collection_id: string;
  };
  /** One row: the subscription set's revision the table reflects (none yet: no row). */
  dispatcher_subscription_set: {
    id: boolean;
    revision: string;
  };
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
export interface EndpointHealthTables {
  endpoint_health_deliveries: { delivery_id: string; webhook_id: string };
}
