import { type Kysely, sql } from "kysely";
import type { HeraldTables } from "../adapters/db/schema.js";
import { type QueueEndpoint, queueEndpoint } from "../projections/delivery-queue.js";

/**
 * The delivery workers' claims on the delivery queue (src/projections/delivery-queue.ts). A claim is a
 * row of delivery_leases, the workers' own table (created by the migrations, so a rebuild of the
 * queue keeps it), taken at the queue row's revision. It covers the delivery while it is live and the
 * row's last finished step is still that revision: once the attempt's outcome is applied the row is
 * claimable again (when due), and a dead worker's claim simply expires. A row whose attempt is applied
 * without its outcome (step_revision behind revision) is claimed by nobody: the outcome is in the log,
 * in the same append, and claiming before it is applied would POST the delivery twice.
 */

/** A claimed delivery with its endpoint as it is now: a URL update applies to the next attempt. */
export interface ClaimedDelivery {
  readonly deliveryId: string;
  readonly webhookId: string;
  readonly payload: string;
  readonly correlationId: string;
  readonly state: "pending" | "paused";
  readonly attempts: number;
  readonly revision: bigint;
  readonly endpoint: QueueEndpoint;
}

/** Claimable rows a claim looks at per row it may take (see claimDeliveries). */
const CANDIDATES_PER_ROW = 4;

/** A lease that covers its queue row now: `q` is the row, `l` the lease. */
const LIVE_LEASE = sql`l.delivery_id = q.delivery_id and l.revision = q.revision and l.leased_until > now()`;

/**
 * Claims up to `limit` deliveries that need a worker: pending and due; pending on an endpoint that is
 * no longer active (to record the pause or the end); paused on an endpoint that is no longer paused.
 * One statement, so the lease is taken in a transaction that ends before any HTTP request starts.
 * The rows are locked (`FOR UPDATE SKIP LOCKED`) while the leases are written, but a lease is a row
 * of its own table: a claim whose snapshot predates another's commit would not see that lease, so the
 * upsert decides (it sees the latest lease) and a delivery whose live lease it meets is not returned.
 *
 * With `perEndpoint`, no endpoint gets more rows than its free slots (its cap less the attempts the
 * worker has in flight there): claiming by due time alone, a backlog on one endpoint filled a claim
 * with rows its cap then made the worker give back, claim after claim. Only the first
 * CANDIDATES_PER_ROW × `limit` claimable rows are ranked, so a claim's cost does not grow with the
 * backlog.
 */
export async function claimDeliveries(
  db: Kysely<HeraldTables>,
  options: {
    readonly limit: number;
    readonly leaseMs: number;
    readonly skipWebhooks: readonly string[];
    readonly worker: string;
    readonly perEndpoint?: { readonly cap: number; readonly inFlight: ReadonlyMap<string, number> };
    /**
     * Only due rows, read through the queue's partial indexes. Without it the claim also takes the rows
     * an endpoint's state calls for whatever their due time (pending on a paused or deleted endpoint,
     * paused on one no longer paused), which have no index: a scan of the queue.
     */
    readonly dueOnly?: boolean;
  },
): Promise<ClaimedDelivery[]> {
  const notLeased = sql`
    not q.mid_step
    and not exists (select 1 from delivery_leases l where ${LIVE_LEASE})
    and not (q.webhook_id = any(${sql.val([...options.skipWebhooks])}::text[]))`;
  const claimable = sql`
    ${notLeased}
    and (q.handoff_until is null or q.handoff_until < now())
    and ((q.state = 'pending' and (q.due_at <= now() or e.status <> 'active'))
      or (q.state = 'paused' and e.status <> 'paused'))`;
  const { perEndpoint } = options;
  const inFlight = [...(perEndpoint?.inFlight ?? [])];
  const candidateLimit = options.limit * CANDIDATES_PER_ROW;
  // Due rows come from two partial indexes (never handed off; hand-off expired) in due order, so a
  // due-only claim reads about as many rows as it may take, however long the queue.
  const candidates = !options.dueOnly
    ? sql`
      select q.delivery_id, q.webhook_id, q.due_at
      from delivery_queue q join delivery_endpoints e on e.webhook_id = q.webhook_id
      where ${claimable}
      order by q.due_at
      limit ${candidateLimit}`
    : sql`
      (select q.delivery_id, q.webhook_id, q.due_at from delivery_queue q
        where q.state = 'pending' and q.handoff_until is null and q.due_at <= now() and ${notLeased}
        order by q.due_at
        limit ${candidateLimit})
      union all
      (select q.delivery_id, q.webhook_id, q.due_at from delivery_queue q
        where q.handoff_until < now() and q.state = 'pending' and q.due_at <= now() and ${notLeased}
        order by q.due_at
        limit ${candidateLimit})`;
  const result = await sql<ClaimedRow>`
    with candidates as (${candidates}
    ), within_caps as (
      select c.delivery_id from (
        select c.delivery_id, row_number() over (partition by c.webhook_id order by c.due_at, c.delivery_id) as rank,
          ${perEndpoint?.cap ?? options.limit}::int - coalesce(f.in_flight, 0) as free
        from candidates c
        left join unnest(${sql.val(inFlight.map(([id]) => id))}::text[], ${sql.val(inFlight.map(([, count]) => count))}::int[])
          as f(webhook_id, in_flight) on f.webhook_id = c.webhook_id
      ) c
      where c.rank <= c.free
    ), claimable as (
      select q.delivery_id, q.webhook_id, q.payload, q.correlation_id, q.state, q.attempts, q.revision,
        e.url, e.retries, e.rate_limit, e.api_key, e.signing_secret, e.status
      from delivery_queue q join delivery_endpoints e on e.webhook_id = q.webhook_id
      where q.delivery_id in (select delivery_id from within_caps) and ${claimable}
      order by q.due_at
      limit ${options.limit}
      for update of q skip locked
    ), leased as (
      insert into delivery_leases as l (delivery_id, leased_by, leased_until, revision, webhook_id)
      select delivery_id, ${options.worker}, now() + ${options.leaseMs} * interval '1 millisecond', revision, webhook_id
      from claimable
      on conflict (delivery_id) do update set
        leased_by = excluded.leased_by,
        leased_until = excluded.leased_until,
        revision = excluded.revision,
        webhook_id = excluded.webhook_id
      where l.revision <> excluded.revision or l.leased_until <= now()
      returning l.delivery_id
    )
    select c.* from claimable c join leased using (delivery_id)`.execute(db);
  return result.rows.map((row) => ({
    deliveryId: row.delivery_id,
    webhookId: row.webhook_id,
    payload: row.payload,
    correlationId: row.correlation_id,
    state: row.state,
    attempts: row.attempts,
    revision: BigInt(row.revision),
    endpoint: queueEndpoint(row),
  }));
}

type ClaimedRow = Pick<
  HeraldTables["delivery_queue"],
  "delivery_id" | "webhook_id" | "payload" | "correlation_id" | "state" | "attempts" | "revision"
> &
  Omit<HeraldTables["delivery_endpoints"], "webhook_id">;

/**
 * How many deliveries of each endpoint other workers may still be attempting: claimed by them (or
 * handed off to them at ingest) within the last `attemptMs` (one attempt's timeout), and not yet
 * past that step. An older lease is an attempt that has ended, being recorded or lost with a crashed
 * worker: counting it would stall the endpoint until the lease expires. Endpoints with none are absent.
 */
export async function attemptsElsewhere(
  db: Kysely<HeraldTables>,
  /** Undefined: every endpoint. */
  webhookIds: readonly string[] | undefined,
  options: { readonly worker: string; readonly leaseMs: number; readonly attemptMs: number },
): Promise<Map<string, number>> {
  if (webhookIds?.length === 0) return new Map();
  const only = (column: string) =>
    webhookIds === undefined ? sql`` : sql`${sql.ref(column)} = any(${sql.val([...webhookIds])}::text[]) and`;
  const fresh = sql`now() + ${options.leaseMs - options.attemptMs} * interval '1 millisecond'`;
  const result = await sql<{ webhook_id: string; leased: number }>`
    select webhook_id, count(*)::int as leased from (
      select l.webhook_id from delivery_leases l
      join delivery_queue q on q.delivery_id = l.delivery_id and q.step_revision = l.revision
      where ${only("l.webhook_id")} l.leased_by <> ${options.worker} and l.leased_until > ${fresh}
      union all
      select q.webhook_id from delivery_queue q
      where ${only("q.webhook_id")} q.handoff_until is not null and q.handoff_by <> ${options.worker}
        and q.handoff_until > ${fresh}
    ) as attempts
    group by webhook_id`.execute(db);
  return new Map(result.rows.map((row) => [row.webhook_id, Number(row.leased)]));
}

/** Gives this worker's claims back before their lease ends (deliveries it cannot start now). */
export async function releaseDeliveries(
  db: Kysely<HeraldTables>,
  worker: string,
  deliveryIds: readonly string[],
): Promise<void> {
  if (deliveryIds.length === 0) return;
  await sql`
    delete from delivery_leases
    where delivery_id = any(${sql.val([...deliveryIds])}::text[]) and leased_by = ${worker}`.execute(db);
}

/**
 * Deletes up to `limit` expired leases. A lease's use ends when it expires, is given back or its
 * delivery's step moves on, but only expiry is cheap to find, so a lease row outlives its use by at
 * most one lease length (a delivery's next claim replaces its row at once). Bound: with every worker
 * pruning every LEASE_PRUNE_MS (delivery-worker.ts), the table holds the claims of the last lease
 * length plus what expired since the last prune, while fewer than `limit` expire per prune interval.
 */
export async function pruneLeases(db: Kysely<HeraldTables>, limit: number): Promise<void> {
  await sql`
    delete from delivery_leases where delivery_id in (
      select delivery_id from delivery_leases where leased_until < now() limit ${limit} for update skip locked
    )`.execute(db);
}

/**
 * Milliseconds until the next pending delivery can be claimed (due, not handed off, not claimed), or
 * undefined when none waits. Deliveries of the skipped endpoints do not count, nor those mid-step,
 * whose outcome's NOTIFY wakes the workers.
 */
export async function msUntilNextDue(
  db: Kysely<HeraldTables>,
  skipWebhooks: readonly string[],
): Promise<number | undefined> {
  const result = await sql<{ ms: number | null }>`
    select (extract(epoch from (
      min(greatest(q.due_at, coalesce(q.handoff_until, q.due_at), coalesce(l.leased_until, q.due_at))) - now()
    )) * 1000)::float8 as ms
    from delivery_queue q left join delivery_leases l on ${LIVE_LEASE}
    where q.state = 'pending' and not q.mid_step
      and not (q.webhook_id = any(${sql.val([...skipWebhooks])}::text[]))`.execute(db);
  // An empty queue gives NULL, which must stay "nothing due" (SQL's greatest(0, NULL) would say "now").
  const ms = result.rows[0]?.ms;
  return ms === null || ms === undefined ? undefined : Math.max(0, Number(ms));
}
