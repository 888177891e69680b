import type { ColumnType, Generated } from "kysely";
import type { DeliveryHistory, DeliveryHistoryStatus } from "../../domain/delivery-history.js";
import type { EndpointDisabledReason } from "../../domain/webhook-events.js";

/**
 * Every table of herald's database: the event log's and each read model's, in one place, the one
 * interface kysely is typed with. Each projection or reactor creates and writes only its own tables.
 */
export interface HeraldTables
  extends CoreTables,
    DeliveryWorkerTables,
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
 * The delivery workers' own state, which no event records: created by the migrations, written by
 * src/app/delivery-claims.ts and src/app/delivery-send-slots.ts, never dropped by a rebuild.
 */
export interface DeliveryWorkerTables {
  delivery_leases: {
    delivery_id: string;
    /** The claiming worker (one per process). */
    leased_by: string;
    leased_until: Date;
    /** The queue row's revision the claim was taken at. */
    revision: bigint;
    webhook_id: string;
  };
  delivery_send_rates: {
    webhook_id: string;
    /** The rate limit's theoretical arrival time in ms (rate-limit.ts). */
    rate_tat_ms: number;
  };
}

/** Written by src/projections/delivery-history.ts, whose doc comment says what they hold. */
export interface DeliveryHistoryTables {
  delivery_history: {
    delivery_id: string;
    webhook_id: string;
    status: DeliveryHistoryStatus;
    created_at: bigint;
    history: DeliveryHistory;
  };
  delivery_history_counts: {
    status: DeliveryHistoryStatus;
    count: bigint;
  };
}

/** Written by src/projections/delivery-queue.ts, whose doc comment says what they hold. */
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
    /**
     * The revision of the delivery's last finished step: behind `revision` while an attempt is applied
     * but its outcome is not yet, and no worker may claim the delivery.
     */
    step_revision: bigint;
    due_at: Date;
    /** The lease a DeliveryScheduled handed off at ingest carries, until its first step ends. */
    handoff_until: Date | null;
    /** The worker the delivery was handed off to (one per process). */
    handoff_by: string | null;
  };
  delivery_endpoints: {
    webhook_id: string;
    url: string;
    retries: number;
    /** Attempts per second at most; null: no limit. */
    rate_limit: number | null;
    api_key: string;
    signing_secret: string;
    status: "active" | "paused" | "deleted";
  };
}

/** Written by src/projections/recovery-requests.ts, whose doc comment says what they hold. */
export interface RecoveryRequestsTables {
  recovery_requests: {
    recovery_id: string;
    webhook_id: string;
    /** Only for redeliver: the one delivery it names. */
    delivery_id: string | null;
  };
}

/** Written by src/projections/wallet-groups.ts, whose doc comment says what they hold. */
export interface WalletGroupsTables {
  wallet_groups: {
    wallet_id: string;
    group_id: string;
  };
}

/** Written by src/projections/webhook-endpoints.ts, whose doc comment says what they hold. */
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

/** Written by src/projections/webhook-subscriptions.ts, whose doc comment says what they hold. */
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

/** Written by src/reactions/dispatch-auditor.ts, whose doc comment says what they hold. */
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

/** Written by src/reactions/endpoint-health.ts, whose doc comment says what they hold. */
export interface EndpointHealthTables {
  endpoint_health_deliveries: { delivery_id: string; webhook_id: string };
}
