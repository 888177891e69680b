import { join } from "node:path";
import type { Logger } from "pino";
import { type Database, openPglite, openPglites, openPostgres } from "../adapters/db/database.js";
import { migrate } from "../adapters/db/migrations.js";
import type { EventStore } from "../adapters/eventstore/event-store.js";
import { createPostgresEventStore } from "../adapters/eventstore/postgres-event-store.js";
import type { Config } from "./config.js";

// Apart from herald.ts, so that the CLI's commands (replay, history, export) start without loading
// the HTTP server and the GraphQL schema.
/** Opens the database and the event store that the configuration names. */
export async function openStorage(config: Config, logger: Logger): Promise<{ database: Database; store: EventStore }> {
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
    const store = await createPostgresEventStore(eventLog);
    return {
      database,
      store: {
        ...store,
        async close() {
          await store.close();
          await eventLog.close();
        },
      },
    };
  }
  const database = config.databaseUrl
    ? await openPostgres(config.databaseUrl)
    : await openPglite(join(config.dataDir, "pglite"));
  await migrate(database.db);
  if (config.eventstoreUrl) {
    // Loaded only here: the EventStoreDB client (gRPC) takes a noticeable part of a command's start.
    const { createEsdbEventStore } = await import("../adapters/eventstore/esdb-event-store.js");
    return { database, store: await createEsdbEventStore(config.eventstoreUrl) };
  }
  logger.debug("using the PostgreSQL event log");
  return { database, store: await createPostgresEventStore(database) };
}
