import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PGlite, types as pgliteTypes } from "@electric-sql/pglite";
import { Kysely, PostgresDialect, sql } from "kysely";
import { PGliteDialect } from "kysely-pglite-dialect";
import pg from "pg";
import type { HeraldTables } from "./schema.js";

/**
 * One handle on herald's relational storage: a kysely instance plus the two things kysely does not
 * offer, LISTEN/NOTIFY and session-level locks. Works on PostgreSQL (pg) and on embedded PGlite.
 */
export interface Database {
  readonly kind: "pg" | "pglite";
  readonly db: Kysely<HeraldTables>;
  /**
   * Calls `onNotify` with the payload of every NOTIFY on `channel` until the returned function is
   * called; also with "" whenever listening (re)starts, since notifications may have been missed.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** Sends a NOTIFY on a connection of its own, so that it neither waits for nor holds a pooled one. */
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Tries to take a lock that lasts until released or until this process dies. Returns undefined
   * when another holder has it. `onLost` fires when the lock's connection fails.
   */
  tryLock(name: string, onLost: () => void): Promise<(() => Promise<void>) | undefined>;
  close(): Promise<void>;
}

export class DatabaseUnavailableError extends Error {
  readonly code = "DATABASE_UNAVAILABLE";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DatabaseUnavailableError";
  }
}

const INT8_OID = 20;

/** int8 is parsed to bigint on both drivers, so counts and positions read the same everywhere. */
function parseInt8(value: string | number | bigint): bigint {
  return BigInt(value);
}

export interface PostgresOptions {
  /** The pool's size; connections are opened as they are needed. */
  readonly max?: number;
  /** Shown in pg_stat_activity for every connection of this handle, pooled or dedicated. */
  readonly applicationName?: string;
}

export async function openPostgres(connectionString: string, options: PostgresOptions = {}): Promise<Database> {
  const typeParsers = {
    getTypeParser: ((oid: number, format?: "text" | "binary") =>
      oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
  const named = options.applicationName ? { application_name: options.applicationName } : {};
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10, types: typeParsers, ...named });
  // A client that loses its server (a restart) must not crash the process. The pool only listens on
  // idle clients; one checked out between two queries of a transaction emits "error" with nobody
  // listening, so every client gets a listener of its own. The query in flight fails and is retried.
  pool.on("error", () => {});
  pool.on("connect", (client) => {
    client.on("error", () => {});
  });
  const db = new Kysely<HeraldTables>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`select 1`.execute(db);
  } catch (cause) {
    await db.destroy();
    throw new DatabaseUnavailableError(`PostgreSQL at ${redactUrl(connectionString)} is not reachable`, { cause });
  }

  const dedicated = new Set<pg.Client>();
  let notifier: Promise<pg.Client> | undefined;
  let closed = false;
  async function connectDedicated(onLost: () => void): Promise<pg.Client> {
    const client = new pg.Client({ connectionString, types: typeParsers, ...named });
    client.on("error", () => {
      dedicated.delete(client);
      onLost();
    });
    client.on("end", () => {
      if (dedicated.delete(client)) onLost();
    });
    await client.connect();
    if (closed) {
      // Closed while this connection was being opened: close would not have seen it.
      await client.end().catch(() => {});
      throw new DatabaseUnavailableError("the database handle is closed");
    }
    dedicated.add(client);
    return client;
  }
  async function endDedicated(client: pg.Client): Promise<void> {
    dedicated.delete(client);
    await client.end().catch(() => {});
  }

  return {
    kind: "pg",
    db,
    async listen(channel, onNotify) {
      // A dropped LISTEN connection is re-opened after a pause; readers also poll, so a gap only delays them.
      let client: pg.Client | undefined;
      let stopped = false;
      const open = async (): Promise<void> => {
        if (stopped) return;
        try {
          client = await connectDedicated(() => {
            if (!stopped) setTimeout(() => void open(), 1000).unref();
          });
          client.on("notification", (message) => {
            if (message.channel === channel) onNotify(message.payload ?? "");
          });
          await client.query(`LISTEN ${quoteIdent(channel)}`);
          onNotify("");
        } catch {
          if (!stopped) setTimeout(() => void open(), 1000).unref();
        }
      };
      await open();
      return async () => {
        stopped = true;
        if (client) await endDedicated(client);
      };
    },
    async notify(channel, payload) {
      if (closed) throw new DatabaseUnavailableError("the database handle is closed");
      notifier ??= connectDedicated(() => {
        notifier = undefined;
      }).catch((error: unknown) => {
        notifier = undefined;
        throw error;
      });
      await (await notifier).query("select pg_notify($1, $2)", [channel, payload]);
    },
    async tryLock(name, onLost) {
      const client = await connectDedicated(onLost);
      const result = await client.query<{ locked: boolean }>(
        "select pg_try_advisory_lock(hashtextextended($1, 0)) as locked",
        [name],
      );
      if (!result.rows[0]?.locked) {
        await endDedicated(client);
        return undefined;
      }
      return () => endDedicated(client);
    },
    async close() {
      closed = true;
      await Promise.all([...dedicated].map(endDedicated));
      await db.destroy();
    },
  };
}

/**
 * Opens a PGlite instance in each directory. A new directory costs an initdb, seconds of WASM (tens
 * on a busy machine), so new directories after the first are copies of it, taken while it is closed
 * and moved into place whole: a crash mid-copy leaves no half cluster behind.
 */
export async function openPglites(dataDirs: readonly string[]): Promise<Database[]> {
  const [first, ...others] = dataDirs.filter((dir) => !existsSync(join(dir, "PG_VERSION")));
  if (first && others.length > 0) {
    await (await openPglite(first)).close();
    for (const dir of others) {
      const partial = `${dir}.partial`;
      rmSync(partial, { recursive: true, force: true });
      cpSync(first, partial, { recursive: true });
      rmSync(dir, { recursive: true, force: true });
      renameSync(partial, dir);
    }
  }
  const databases: Database[] = [];
  for (const dir of dataDirs) databases.push(await openPglite(dir));
  return databases;
}

export async function openPglite(dataDir: string): Promise<Database> {
  mkdirSync(dataDir, { recursive: true });
  const pglite = new PGlite(dataDir, { parsers: { [pgliteTypes.INT8]: parseInt8 } });
  await pglite.waitReady;
  const db = new Kysely<HeraldTables>({ dialect: new PGliteDialect(pglite) });
  return {
    kind: "pglite",
    db,
    async listen(channel, onNotify) {
      const unlisten = await pglite.listen(channel, onNotify);
      return unlisten;
    },
    async notify(channel, payload) {
      await pglite.query("select pg_notify($1, $2)", [channel, payload]);
    },
    // One PGlite instance belongs to one process, so every lock is already this process's.
    async tryLock() {
      return async () => {};
    },
    async close() {
      await db.destroy();
    },
  };
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Connection strings carry passwords; never show one. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<unparseable url>";
  }
}
