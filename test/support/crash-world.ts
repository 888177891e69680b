import { connect, type NatsConnection } from "@nats-io/transport-node";
import { type Database, openPostgres } from "../../src/adapters/db/database.js";
import { migrate } from "../../src/adapters/db/migrations.js";
import type { EventStore } from "../../src/adapters/eventstore/event-store.js";
import { createPostgresEventStore } from "../../src/adapters/eventstore/postgres-event-store.js";
import { NATS_URL } from "./services.js";
import { createTestDatabase, type TestDatabase } from "./test-database.js";
import { type NatsTestNames, natsTestNames } from "./test-herald.js";
import { startWebhookReceiver, type WebhookReceiver } from "./webhook-receiver.js";

/**
 * What a crash test keeps around the herald child process it kills: a database and NATS names of its
 * own (the child restarts on them), a store on that database to check the log, a receiver, and a
 * NATS connection to publish with.
 */
export interface CrashWorld {
  readonly database: TestDatabase;
  readonly names: NatsTestNames;
  readonly storage: Database;
  readonly store: EventStore;
  readonly receiver: WebhookReceiver;
  readonly nc: NatsConnection;
}

export async function openCrashWorld(): Promise<CrashWorld> {
  const database = await createTestDatabase();
  const names = natsTestNames();
  const storage = await openPostgres(database.url);
  await migrate(storage.db);
  const store = await createPostgresEventStore(storage);
  const receiver = await startWebhookReceiver();
  const nc = await connect({ servers: NATS_URL });
  return { database, names, storage, store, receiver, nc };
}

export async function closeCrashWorld(world: CrashWorld | undefined): Promise<void> {
  if (!world) return;
  await world.nc.close();
  await world.receiver.close();
  await world.store.close();
  await world.storage.close();
  await world.names.cleanup();
  await world.database.drop();
}
