/**
 * Rebuilding every read model from the PostgreSQL event log (what `npx herald replay all` does),
 * against the baseline of reading the same log from the first event without applying anything,
 * measured in the same run. The dispatcher's rebuild schedules deliveries again (idempotently), so it
 * appends as it replays, as in production.
 */
// herald.ts loads type-graphql, which needs the metadata polyfill first, as in main.ts.
import "reflect-metadata";
import { randomUUID } from "node:crypto";
import { openPostgres } from "../src/adapters/db/database.js";
import { migrate } from "../src/adapters/db/migrations.js";
import { eventMetadata } from "../src/adapters/eventstore/event-metadata.js";
import type { ReadFrom } from "../src/adapters/eventstore/event-store.js";
import { createPostgresEventStore } from "../src/adapters/eventstore/postgres-event-store.js";
import { allProjections } from "../src/app/herald.js";
import { createLogger } from "../src/app/logger.js";
import { type TransactionReceived, transactionStream } from "../src/domain/ingest-events.js";
import { rebuildProjection } from "../src/projections/projection-runner.js";
import { createTestDatabase } from "../test/support/test-database.js";
import { createEndpoint, createSubscription } from "../test/support/webhooks.js";
import { machine, progress, round } from "./bench-support.js";

const ENDPOINTS = 1_000;
const TRANSACTIONS = Number(process.env.BENCH_REPLAY_TRANSACTIONS ?? 20_000);
const BATCH = 500;

const collection = (n: number) => `1:evm:0x${n.toString(16).padStart(40, "0")}`;

export async function run(): Promise<Record<string, unknown>> {
  const testDatabase = await createTestDatabase();
  const database = await openPostgres(testDatabase.url, { max: 8 });
  const store = await createPostgresEventStore(database);
  try {
    await migrate(database.db);
    for (let i = 0; i < ENDPOINTS; i++) {
      const endpoint = await createEndpoint(store, `https://example.com/hook-${i}`, 5);
      await createSubscription(store, endpoint.webhookId, { type: "asset-link", actions: ["create"], collectionId: collection(i) });
      if ((i + 1) % 100 === 0) progress("replay: endpoints", i + 1, ENDPOINTS);
    }
    // Half the transactions match one endpoint, half match none.
    for (let sent = 0; sent < TRANSACTIONS; sent += BATCH) {
      const requests = Array.from({ length: Math.min(BATCH, TRANSACTIONS - sent) }, (_, i) => {
        const n = sent + i;
        const transactionId = randomUUID();
        const data: TransactionReceived["data"] = {
          transactionId,
          transaction: { status: "SUCCESS", events: [{ type: "asset-link", action: "create", args: [], collectionId: collection(n % 2 === 0 ? n % ENDPOINTS : ENDPOINTS + n) }] },
          source: "nats",
          receivedAt: Date.now(),
        };
        return { stream: transactionStream(transactionId), events: [{ type: "TransactionReceived", data, metadata: eventMetadata("system:bench") }], expectedRevision: "no_stream" as const };
      });
      await store.appendMany(requests);
      progress("replay: transactions", sent + requests.length, TRANSACTIONS);
    }

    // The baseline first: the whole log read once, nothing applied.
    const readStarted = performance.now();
    let read = 0;
    for (let position: ReadFrom = "start"; ; ) {
      const page = await store.readAll(position, { maxCount: 1000 });
      const last = page.at(-1);
      if (!last) break;
      position = last.position;
      read += page.length;
    }
    const readSeconds = (performance.now() - readStarted) / 1000;
    progress("replay: plain read", read, read);

    const projections: Record<string, { events: number; seconds: number; eventsPerSecond: number }> = {};
    let replayedEvents = 0;
    let replaySeconds = 0;
    for (const projection of allProjections({ store, logger: createLogger("warn") })) {
      progress(`replay: ${projection.name}`, 0, 1);
      const result = await rebuildProjection({ database, store, projection });
      progress(`replay: ${projection.name}`, 1, 1);
      projections[projection.name] = { events: result.events, seconds: round(result.ms / 1000, 2), eventsPerSecond: round(result.events / (result.ms / 1000)) };
      replayedEvents += result.events;
      replaySeconds += result.ms / 1000;
    }
    const replayRate = replayedEvents / replaySeconds;
    const readRate = read / readSeconds;
    return {
      endpoints: ENDPOINTS,
      transactions: TRANSACTIONS,
      eventsInLog: read,
      projections,
      replayEventsPerSecond: round(replayRate),
      plainReadEventsPerSecond: round(readRate),
      ratioToPlainRead: round(replayRate / readRate, 3),
      machine: machine(),
    };
  } finally {
    await store.close();
    await database.close();
    await testDatabase.drop();
  }
}
