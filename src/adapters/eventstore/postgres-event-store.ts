import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import type { HeraldEvent } from "../../domain/herald-event.js";
import type { Database } from "../db/database.js";
import type {
  AnyEvent,
  EventFilter,
  EventOfType,
  EventStore,
  LogPage,
  Position,
  ReadAllOptions,
  ReadBefore,
  ReadFrom,
  ReadPageOptions,
  ReadStreamOptions,
  StoredEvent,
} from "./event-store.js";
import { LiveSubscription } from "./live-subscription.js";
import { appendStatement, toAppendOutcomes } from "./postgres-append.js";
import { recordedAs } from "./recorded-event.js";

const CHANNEL = "herald_events";

/**
 * The PostgreSQL event log. Ordering readers can trust: a bigserial alone lets a reader pass a
 * position whose transaction commits late, so each row records its transaction id (xid8) and
 * readers only take rows whose transaction is older than every transaction still running, in
 * (transaction_id, position) order. The pair is the Position: commit = xid, prepare = sequence.
 */
export async function createPostgresEventStore<E extends AnyEvent = HeraldEvent>(
  database: Database,
  options: {
    /**
     * Where the log is read (pages, streams, the head); `database` by default, which always takes the
     * appends, the readiness ping and LISTEN. Apart, a long page never makes an append wait for a connection.
     */
    readonly reads?: Database;
  } = {},
): Promise<EventStore<E>> {
  const { db } = database;
  const readDb = (options.reads ?? database).db;
  const wake = new AppendSignal();
  // Other processes' appends arrive by NOTIFY; this store's own wake its readers directly, so the
  // echo of its own NOTIFY (tagged with its token) is ignored.
  const token = randomUUID();
  const unlisten = await database.listen(CHANNEL, (payload) => {
    if (payload !== token) wake.notify();
  });
  let closed = false;
  const notifyOthers = coalesced(async () => {
    if (!closed) await database.notify(CHANNEL, token);
  });

  /**
   * One page of the rows readers may see, after `from` or (backwards) before it, exclusive;
   * undefined: from that end. Either way it is a scan of herald_events_read_order.
   */
  async function readRows<F extends AnyEvent>(
    direction: "forwards" | "backwards",
    from: Position | undefined,
    options: ReadAllOptions,
  ): Promise<StoredEvent<F>[]> {
    const limit = options.maxCount ?? DEFAULT_PAGE_SIZE;
    const forwards = direction === "forwards";
    const result = await sql<EventRow>`
      select position, transaction_id::text as xid_text, event_id, stream, revision, type, data, metadata
      from herald_events
      where transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ${after(forwards ? ">" : "<", from)}
        ${options.filter ? sql`and ${filterCondition(options.filter)}` : sql``}
      order by ${forwards ? sql`transaction_id, position` : sql`transaction_id desc, position desc`}
      limit ${limit}`.execute(readDb);
    return result.rows.map((row) => toStoredEvent<F>(row));
  }

  async function readPage<T extends E["type"] = E["type"]>(
    from: ReadFrom,
    options: ReadPageOptions<T> = {},
  ): Promise<LogPage<EventOfType<E, T>>> {
    const maxCount = options.maxCount ?? DEFAULT_PAGE_SIZE;
    const { rows } = await readPageQuery(from, options).execute(readDb);
    const events: StoredEvent<EventOfType<E, T>>[] = [];
    let last: LookedRow | undefined;
    for (const row of rows) {
      last = row;
      if (row.passed) events.push(toStoredEvent(row));
      if (events.length === maxCount) break;
    }
    return { events, position: last ? { commit: BigInt(last.xid_text), prepare: last.position } : from };
  }

  const readAll = <T extends E["type"] = E["type"]>(from: ReadFrom, options: ReadAllOptions<T> = {}) =>
    readRows<EventOfType<E, T>>("forwards", from === "start" ? undefined : from, options);
  const readAllBackwards = <T extends E["type"] = E["type"]>(before: ReadBefore, options: ReadAllOptions<T> = {}) =>
    readRows<EventOfType<E, T>>("backwards", before === "end" ? undefined : before, options);

  const store: EventStore<E> = {
    kind: "postgres",
    async append(stream, events, expectedRevision) {
      const [outcome] = await store.appendMany([{ stream, events, expectedRevision }]);
      if (!outcome) throw new Error("appendMany returned no outcome");
      if (!outcome.ok) throw outcome.error;
      return outcome.result;
    },
    async appendMany(requests, options = {}) {
      if (requests.length === 0) return [];
      const { rows } = await appendStatement(requests, options.fence).execute(db);
      const outcomes = toAppendOutcomes(requests, options.fence, rows);
      // After commit, outside the append's transaction: a NOTIFY inside it would make every append
      // commit wait its turn for PostgreSQL's notify lock.
      if (outcomes.some((outcome, index) => outcome.ok && requests[index]!.events.length > 0)) {
        wake.notify();
        notifyOthers();
      }
      return outcomes;
    },
    async readStream(stream, options: ReadStreamOptions = {}) {
      const backwards = options.direction === "backwards";
      let query = readDb
        .selectFrom("herald_events")
        .select([
          "position",
          sql<string>`transaction_id::text`.as("xid_text"),
          "event_id",
          "stream",
          "revision",
          "type",
          "data",
          "metadata",
        ])
        .where("stream", "=", stream)
        .orderBy("revision", backwards ? "desc" : "asc");
      if (options.fromRevision !== undefined) {
        query = query.where("revision", backwards ? "<=" : ">=", options.fromRevision);
      }
      if (options.maxCount !== undefined) query = query.limit(options.maxCount);
      const rows = await query.execute();
      return rows.map((row) => toStoredEvent<E>(row));
    },
    readAll,
    readAllBackwards,
    readPage,
    subscribeAll(from, options = {}) {
      return new LiveSubscription(from, (position, max) => readPage(position, { ...options, maxCount: max }), wake);
    },
    async headPosition() {
      const [newest] = await readAllBackwards("end", { maxCount: 1 });
      return newest?.position ?? "start";
    },
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      closed = true;
      wake.close();
      await unlisten();
    },
  };
  return store;
}

/** How many events a read returns (readPage: how many matching ones) when the caller does not say. */
const DEFAULT_PAGE_SIZE = 500;

/** A row readPage looked at: whole when it passed the filter, its place in the log otherwise. */
type LookedRow = EventRow & { passed: boolean };

/**
 * readPage's query: the next `scanLimit` visible rows in read order, whatever their type (an index
 * range of at most that many rows); readPage keeps those up to the `maxCount`-th that passes the
 * filter. Only passing rows carry their data: the rest costs a look at its type and stream. One plain
 * statement, because every reader runs it on every wake-up: a CTE-and-window form of it took a few
 * milliseconds to plan each time, which tripled SSE latency under load (`npm run bench -- sse`,
 * p50 14 → 47 ms). Exported for `npm run bench -- read-cost`, which explains it.
 */
export function readPageQuery(from: ReadFrom, options: ReadPageOptions = {}) {
  const limit = options.scanLimit ?? 10 * (options.maxCount ?? DEFAULT_PAGE_SIZE);
  return sql<LookedRow>`
    select position, xid_text, passed, stream, revision, type,
      case when passed then event_id end as event_id,
      case when passed then data end as data,
      case when passed then metadata end as metadata
    from (
      select position, transaction_id, transaction_id::text as xid_text, ${filterCondition(options.filter)} as passed,
        event_id, stream, revision, type, data, metadata
      from herald_events
      where transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ${after(">", from === "start" ? undefined : from)}
      order by transaction_id, position
      limit ${limit}
    ) looked
    order by transaction_id, position`;
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

function toStoredEvent<F extends AnyEvent>(row: EventRow): StoredEvent<F> {
  const position: Position = { commit: BigInt(row.xid_text), prepare: row.position };
  return recordedAs<F>({
    id: row.event_id,
    stream: row.stream,
    revision: row.revision,
    position,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
  });
}

/** Rows strictly after (">") or before ("<") `from` in read order; every row when undefined. */
function after(direction: ">" | "<", from: Position | undefined) {
  if (from === undefined) return sql``;
  return sql`and (transaction_id, position) ${sql.raw(direction)} (${from.commit.toString()}::xid8, ${from.prepare.toString()}::bigint)`;
}

/** The port's filter as a condition on herald_events' columns; true without one. */
function filterCondition(filter: EventFilter | undefined) {
  const parts = [sql`true`];
  if (filter?.eventTypes) {
    parts.push(sql`type = any(${sql.val([...filter.eventTypes])}::text[])`);
  }
  if (filter?.streamPrefixes) {
    const prefixes = filter.streamPrefixes.map((prefix) => sql`starts_with(stream, ${prefix})`);
    parts.push(sql`(${sql.join([sql`false`, ...prefixes], sql` or `)})`);
  }
  return sql`(${sql.join(parts, sql` and `)})`;
}

/**
 * Runs `send` when called, one run at a time: calls made while a run is under way share one more
 * run after it. Under load that is one NOTIFY per round trip, however many appends commit.
 */
function coalesced(send: () => Promise<void>): () => void {
  let running = false;
  let again = false;
  const run = async () => {
    running = true;
    do {
      again = false;
      // A NOTIFY that fails (the database is restarting) costs other processes' readers at most
      // their idle poll.
      await send().catch(() => {});
    } while (again);
    running = false;
  };
  return () => {
    if (running) again = true;
    else void run();
  };
}

/** Wakes readers when an append commits (directly or by NOTIFY) so that they need not poll fast. */
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
