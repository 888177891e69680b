import { randomUUID } from "node:crypto";
import { sql, type Transaction } from "kysely";
import type { Database } from "../db/database.js";
import type { CoreTables } from "../db/schema.js";
import {
  type AppendOutcome,
  type AppendRequest,
  type AppendResult,
  type EventFilter,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type Position,
  type ReadAllOptions,
  type ReadFrom,
  type ReadStreamOptions,
  type StoredEvent,
  WrongExpectedVersionError,
} from "./event-store.js";
import { LiveSubscription } from "./live-subscription.js";

/** Must match the trigger in migration 0001. */
const CHANNEL = "herald_events";

/**
 * The PostgreSQL event log. Ordering readers can trust: a bigserial alone lets a reader pass a
 * position whose transaction commits late, so each row records its transaction id (xid8) and
 * readers only take rows whose transaction is older than every transaction still running, in
 * (transaction_id, position) order. The pair is the Position: commit = xid, prepare = sequence.
 */
export async function createPostgresEventStore(database: Database): Promise<EventStore> {
  const { db } = database;
  const wake = new AppendSignal();
  const unlisten = await database.listen(CHANNEL, () => wake.notify());

  async function appendInTransaction(trx: Transaction<CoreTables>, requests: readonly AppendRequest[]) {
    const outcomes: (AppendOutcome | { ok: true; pending: { stream: string; nextRevision: bigint; lastEventId?: string } })[] =
      [];
    const rows: { event_id: string; stream: string; revision: bigint; type: string; data: string; metadata: string }[] =
      [];
    for (const request of requests) {
      const checked = await checkAndBumpRevision(trx, request.stream, request.expectedRevision, request.events.length);
      if (!checked.ok) {
        outcomes.push({ ok: false, error: checked.error });
        continue;
      }
      let revision = checked.firstRevision;
      let lastEventId: string | undefined;
      for (const event of request.events) {
        lastEventId = event.id ?? randomUUID();
        rows.push({
          event_id: lastEventId,
          stream: request.stream,
          revision: revision++,
          type: event.type,
          data: JSON.stringify(event.data),
          metadata: JSON.stringify(event.metadata),
        });
      }
      outcomes.push({ ok: true, pending: { stream: request.stream, nextRevision: revision - 1n, lastEventId } });
    }
    const positions = new Map<string, bigint>();
    let commit = 0n;
    if (rows.length > 0) {
      // The NOTIFY that wakes readers comes from a statement trigger (migration 0001), at commit.
      const inserted = await trx
        .insertInto("herald_events")
        .values(rows)
        .returning(["event_id", "position", sql<string>`transaction_id::text`.as("xid_text")])
        .execute();
      for (const row of inserted) positions.set(row.event_id, row.position);
      commit = BigInt(inserted[0]?.xid_text ?? "0");
    }
    return outcomes.map((outcome): AppendOutcome => {
      if (!("pending" in outcome)) return outcome;
      const { nextRevision, lastEventId } = outcome.pending;
      const prepare = lastEventId ? (positions.get(lastEventId) ?? 0n) : 0n;
      return { ok: true, result: { nextRevision, position: { commit, prepare } } };
    });
  }

  async function readAll(from: ReadFrom, options: ReadAllOptions = {}): Promise<StoredEvent[]> {
    const limit = options.maxCount ?? 500;
    const result = await sql<EventRow>`
      select position, transaction_id::text as xid_text, event_id, stream, revision, type, data, metadata
      from herald_events
      where transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ${from === "start" ? sql`` : sql`and (transaction_id, position) > (${from.commit.toString()}::xid8, ${from.prepare.toString()}::bigint)`}
        ${filterClause(options.filter)}
      order by transaction_id, position
      limit ${limit}`.execute(db);
    return result.rows.map(toStoredEvent);
  }

  const store: EventStore = {
    kind: "postgres",
    async append(stream, events, expectedRevision) {
      const [outcome] = await store.appendMany([{ stream, events, expectedRevision }]);
      if (!outcome) throw new Error("appendMany returned no outcome");
      if (!outcome.ok) throw outcome.error;
      return outcome.result;
    },
    async appendMany(requests) {
      if (requests.length === 0) return [];
      return db.transaction().execute((trx) => appendInTransaction(trx, requests));
    },
    async readStream(stream, options: ReadStreamOptions = {}) {
      const backwards = options.direction === "backwards";
      let query = db
        .selectFrom("herald_events")
        .select(["position", sql<string>`transaction_id::text`.as("xid_text"), "event_id", "stream", "revision", "type", "data", "metadata"])
        .where("stream", "=", stream)
        .orderBy("revision", backwards ? "desc" : "asc");
      if (options.fromRevision !== undefined) {
        query = query.where("revision", backwards ? "<=" : ">=", options.fromRevision);
      }
      if (options.maxCount !== undefined) query = query.limit(options.maxCount);
      const rows = await query.execute();
      return rows.map((row) => toStoredEvent(row as EventRow));
    },
    readAll,
    subscribeAll(from, options = {}) {
      return new LiveSubscription(from, (position, max) => readAll(position, { filter: options.filter, maxCount: max }), wake);
    },
    async headPosition() {
      const result = await sql<{ xid_text: string; position: bigint }>`
        select transaction_id::text as xid_text, position from herald_events
        where transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        order by transaction_id desc, position desc limit 1`.execute(db);
      const row = result.rows[0];
      return row ? { commit: BigInt(row.xid_text), prepare: row.position } : "start";
    },
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      wake.close();
      await unlisten();
    },
  };
  return store;
}

interface EventRow {
  position: bigint;
  /** The xid8 as text: ordering by this alias would sort as text, so queries order by the column. */
  xid_text: string;
  event_id: string;
  stream: string;
  revision: bigint;
  type: string;
  data: unknown;
  metadata: unknown;
}

function toStoredEvent(row: EventRow): StoredEvent {
  const position: Position = { commit: BigInt(row.xid_text), prepare: row.position };
  return {
    id: row.event_id,
    stream: row.stream,
    revision: row.revision,
    position,
    type: row.type,
    data: row.data,
    metadata: row.metadata as StoredEvent["metadata"],
  };
}

function filterClause(filter: EventFilter | undefined) {
  const parts = [];
  if (filter?.eventTypes) {
    parts.push(sql`and type = any(${sql.val([...filter.eventTypes])}::text[])`);
  }
  if (filter?.streamPrefixes) {
    const prefixes = sql.join(filter.streamPrefixes.map((prefix) => sql`starts_with(stream, ${prefix})`), sql` or `);
    parts.push(sql`and (${prefixes})`);
  }
  return sql.join(parts, sql` `);
}

type RevisionCheck = { ok: true; firstRevision: bigint } | { ok: false; error: WrongExpectedVersionError };

/**
 * Checks the stream's revision against the expectation and reserves `count` revisions, holding the
 * stream's row lock until commit so that concurrent appends to one stream serialise.
 */
async function checkAndBumpRevision(
  trx: Transaction<CoreTables>,
  stream: string,
  expected: ExpectedRevision,
  count: number,
): Promise<RevisionCheck> {
  const fail = (actual: bigint | "no_stream"): RevisionCheck => ({
    ok: false,
    error: new WrongExpectedVersionError(stream, expected, actual),
  });
  const n = BigInt(count);
  let current = await lockRevision(trx, stream);
  if (current === undefined) {
    if (expected === "stream_exists" || typeof expected === "bigint") return fail("no_stream");
    if (count === 0) return { ok: true, firstRevision: 0n };
    // Create the stream's row; a concurrent creator makes this a no-op and we see its revision.
    const created = await trx
      .insertInto("herald_streams")
      .values({ stream, revision: n - 1n })
      .onConflict((oc) => oc.column("stream").doNothing())
      .returning("stream")
      .executeTakeFirst();
    if (created) return { ok: true, firstRevision: 0n };
    current = await lockRevision(trx, stream);
    if (current === undefined) return fail("no_stream");
  }
  if (expected === "no_stream") return fail(current);
  if (typeof expected === "bigint" && expected !== current) return fail(current);
  if (count > 0) {
    await trx.updateTable("herald_streams").set({ revision: current + n }).where("stream", "=", stream).execute();
  }
  return { ok: true, firstRevision: current + 1n };
}

async function lockRevision(trx: Transaction<CoreTables>, stream: string): Promise<bigint | undefined> {
  const row = await trx
    .selectFrom("herald_streams")
    .select("revision")
    .where("stream", "=", stream)
    .forUpdate()
    .executeTakeFirst();
  return row?.revision;
}

/** Wakes readers when an append commits (NOTIFY) so that they need not poll fast. */
export class AppendSignal {
  #count = 0;
  #waiters = new Set<() => void>();

  get count(): number {
    return this.#count;
  }

  notify(): void {
    this.#count++;
    for (const waiter of this.#waiters) waiter();
    this.#waiters.clear();
  }

  /** Resolves on the next notify, or after `ms`, whichever comes first. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }

  close(): void {
    this.notify();
  }
}
