import { join } from "node:path";
import type { Logger } from "pino";
import { type Database, openPglite, openPglites, openPostgres } from "../adapters/db/database.js";
import { migrate } from "../adapters/db/migrations.js";
import type { EventStore } from "../adapters/eventstore/event-store.js";
import { createPostgresEventStore } from "../adapters/eventstore/postgres-event-store.js";
import type { Config } from "./config.js";

/** What a herald process or a CLI command reads and writes through. */
export interface Storage {
  /** The handle of everything without a role of its own: the API (GraphQL, metrics, readiness), a CLI command. */
  readonly database: Database;
  readonly store: EventStore;
  /** The handles of the roles that must not wait behind the API's queries (the same as `database` unless split). */
  readonly roles: StorageRoles;
  /** Closes the store, then every handle. */
  close(): Promise<void>;
}

export interface StorageRoles {
  /** The projection group: its page transactions and checkpoints. */
  readonly projections: Database;
  /** The delivery worker and ingest's hand-off: claims, send slots, the queue's endpoints. */
  readonly worker: Database;
}

/**
 * Pool sizes per role when PostgreSQL is split by role. A pg pool opens connections as they are
 * needed, so these are ceilings: 15 pooled, plus the dedicated ones (2 LISTEN, the NOTIFY sender,
 * the projection lock). The test suite runs many herald processes on one server (max_connections 100).
 */
export const ROLE_POOL_SIZES = {
  /** appendMany calls: the process's batcher keeps at most 2 in flight, fenced ingest appends beside them. */
  append: 3,
  /** Log pages (the log pump, SSE look-back) and stream reads. */
  logReader: 2,
  /** The group's transaction beside one per reactor (2). */
  projections: 3,
  worker: 2,
  api: 5,
} as const;

// Apart from herald.ts, so that the CLI's commands (replay, history, export) start without loading
// the HTTP server and the GraphQL schema.
/**
 * Opens the database and the event store that the configuration names. `splitRoles` (herald's
 * service) gives each role its own PostgreSQL pool, so that a slow GraphQL query or a projection's
 * page never makes an ingest append or a claim wait in another role's queue; the CLI's commands
 * have one role and keep one pool. PGlite has no pool to split: every role shares its instances.
 */
export async function openStorage(
  config: Config,
  logger: Logger,
  options: { readonly splitRoles?: boolean } = {},
): Promise<Storage> {
  if (!config.databaseUrl && !config.eventstoreUrl) {
    // PGlite has one connection, and projections that append (dispatcher, endpoint health) do so while
    // their batch's transaction holds it: the embedded event log gets a PGlite instance of its own.
    const [database, eventLog] = (await openPglites([
      join(config.dataDir, "pglite"),
      join(config.dataDir, "event-log"),
    ])) as [Database, Database];
    await migrate(database.db);
    await migrate(eventLog.db);
    logger.debug({ embedded: config.embedded }, "using the PostgreSQL event log");
    return storage(database, await createPostgresEventStore(eventLog), [database, eventLog]);
  }
  if (config.databaseUrl && options.splitRoles) return openSplitPostgres(config, config.databaseUrl, logger);
  const database = config.databaseUrl
    ? await openPostgres(config.databaseUrl)
    : await openPglite(join(config.dataDir, "pglite"));
  await migrate(database.db);
  if (config.eventstoreUrl) return storage(database, await openEsdbStore(config.eventstoreUrl), [database]);
  logger.debug("using the PostgreSQL event log");
  return storage(database, await createPostgresEventStore(database), [database]);
}

async function openSplitPostgres(config: Config, url: string, logger: Logger): Promise<Storage> {
  const opened: Database[] = [];
  const open = async (role: keyof typeof ROLE_POOL_SIZES): Promise<Database> => {
    const database = await openPostgres(url, { max: ROLE_POOL_SIZES[role], applicationName: `herald:${role}` });
    opened.push(database);
    return database;
  };
  try {
    const api = await open("api");
    await migrate(api.db);
    const roles = { projections: await open("projections"), worker: await open("worker") };
    if (config.eventstoreUrl) return storage(api, await openEsdbStore(config.eventstoreUrl), opened, roles);
    logger.debug("using the PostgreSQL event log");
    const appends = await open("append");
    const store = await createPostgresEventStore(appends, { reads: await open("logReader") });
    return storage(api, store, opened, roles);
  } catch (error) {
    for (const database of opened) await database.close().catch(() => {});
    throw error;
  }
}

/** Loaded only when named: the EventStoreDB client (gRPC) takes a noticeable part of a command's start. */
async function openEsdbStore(url: string): Promise<EventStore> {
  const { createEsdbEventStore } = await import("../adapters/eventstore/esdb-event-store.js");
  return createEsdbEventStore(url);
}

function storage(
  database: Database,
  store: EventStore,
  handles: readonly Database[],
  roles: StorageRoles = { projections: database, worker: database },
): Storage {
  return {
    database,
    store,
    roles,
    async close() {
      await store.close();
      for (const handle of handles) await handle.close();
    },
  };
}
