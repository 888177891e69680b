/**
 * `npx herald replay all` over 100,000 webhook endpoint and subscription events in the PostgreSQL
 * event log: the real CLI in a child process, as an operator runs it, beside a plain sequential read
 * of the same log in the same run (every column of every row, in position order, pages of 5,000,
 * through the same driver): the ratio is the figure that counts (the goal: at least 0.25).
 */
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "kysely";
import { createSecretBox } from "../src/adapters/crypto/secret-box.js";
import { type Database, openPostgres } from "../src/adapters/db/database.js";
import { migrate } from "../src/adapters/db/migrations.js";
import { eventMetadata } from "../src/adapters/eventstore/event-metadata.js";
import type { AppendRequest, EventStore } from "../src/adapters/eventstore/event-store.js";
import { createPostgresEventStore } from "../src/adapters/eventstore/postgres-event-store.js";
import type { WebhookEndpointEvent, WebhookSubscriptionEvent } from "../src/domain/webhook-events.js";
import { endpointStream, subscriptionStream } from "../src/domain/webhook-events.js";
import { createTestDatabase } from "../test/support/test-database.js";
import { machine, progress, round } from "./bench-support.js";

const TOTAL_EVENTS = 100_000;
/** Each endpoint's history: created, two subscriptions, a URL change, a pause. */
const EVENTS_PER_ENDPOINT = 5;
/** Endpoints per appendMany call (each call is a handful of round trips). */
const ENDPOINTS_PER_BATCH = 400;

/** Rows per page of the plain sequential read. */
const PLAIN_PAGE = 5_000;

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export async function run(): Promise<Record<string, unknown>> {
  const testDatabase = await createTestDatabase();
  const database = await openPostgres(testDatabase.url, { max: 4 });
  const key = randomBytes(32);
  try {
    await migrate(database.db);
    const store = await createPostgresEventStore(database);
    const appendStarted = performance.now();
    const appended = await appendHistories(store, createSecretBox(key));
    const appendSeconds = (performance.now() - appendStarted) / 1000;
    await store.close();
    const plainRate = await plainSequentialRead(database, appended);

    const replayStarted = performance.now();
    const lines = await replayAll({ DATABASE_URL: testDatabase.url, HERALD_ENCRYPTION_KEY: key.toString("base64") });
    const replaySeconds = (performance.now() - replayStarted) / 1000;
    const replayRate = appended / replaySeconds;
    return {
      backend: "postgres",
      eventsInStore: appended,
      appendEventsPerSecond: round(appended / appendSeconds),
      // As the command printed them: each projection reads the log and applies the events it handles.
      projections: lines,
      replayAll: {
        seconds: round(replaySeconds, 2),
        // The whole command, process start-up included: what an operator waits for.
        storeEventsPerSecond: round(replayRate),
      },
      plainSequentialReadEventsPerSecond: round(plainRate),
      ratioReplayToPlainRead: round(replayRate / plainRate, 3),
      machine: machine(),
    };
  } finally {
    await database.close();
    await testDatabase.drop();
  }
}

/** Every row of herald_events with every column, in position order, by keyset pages: the floor under any replay. */
async function plainSequentialRead(database: Database, total: number): Promise<number> {
  const started = performance.now();
  let read = 0;
  for (let after = "0"; ; ) {
    const { rows } = await sql<{
      position: string;
    }>`select * from herald_events where position > ${after}::bigint order by position limit ${PLAIN_PAGE}`.execute(
      database.db,
    );
    const last = rows.at(-1);
    if (!last) break;
    after = String(last.position);
    read += rows.length;
    progress("plain sequential read", read, total);
  }
  if (read !== total) throw new Error(`bench: the plain read found ${read} events, ${total} appended`);
  return read / ((performance.now() - started) / 1000);
}

async function appendHistories(store: EventStore, secrets: ReturnType<typeof createSecretBox>): Promise<number> {
  const endpoints = TOTAL_EVENTS / EVENTS_PER_ENDPOINT;
  let appended = 0;
  for (let first = 0; first < endpoints; first += ENDPOINTS_PER_BATCH) {
    const requests: AppendRequest[] = [];
    for (let index = first; index < Math.min(first + ENDPOINTS_PER_BATCH, endpoints); index++)
      requests.push(...history(index, secrets));
    const outcomes = await store.appendMany(requests);
    const refused = outcomes.find((outcome) => !outcome.ok);
    if (refused && !refused.ok) throw refused.error;
    appended += requests.reduce((sum, request) => sum + request.events.length, 0);
    progress("append", appended, TOTAL_EVENTS);
  }
  return appended;
}

function history(index: number, secrets: ReturnType<typeof createSecretBox>): AppendRequest[] {
  const webhookId = randomUUID();
  const subscriber = `0x${index.toString(16).padStart(40, "0")}`;
  const metadata = eventMetadata(subscriber);
  const endpointEvents: WebhookEndpointEvent[] = [
    {
      type: "WebhookEndpointCreated",
      data: {
        webhookId,
        subscriber,
        url: `https://receiver-${index}.example.com/hook`,
        retries: 5,
        apiKey: secrets.seal(randomBytes(32).toString("base64url")),
        signingSecret: secrets.seal(`whsec_${randomBytes(32).toString("base64")}`),
        createdAt: Date.now(),
      },
    },
    { type: "WebhookEndpointUpdated", data: { webhookId, url: `https://receiver-${index}.example.com/v2` } },
    { type: "WebhookEndpointPaused", data: { webhookId } },
  ];
  const subscriptions = ["create", "delete"].map((action): AppendRequest => {
    const subscriptionId = randomUUID();
    const created: WebhookSubscriptionEvent = {
      type: "WebhookSubscriptionCreated",
      data: {
        subscriptionId,
        webhookId,
        subscriber,
        type: "asset-link",
        actions: [action],
        collectionId: `1:evm:0x${index.toString(16).padStart(40, "0")}`,
        createdAt: Date.now(),
      },
    };
    return {
      stream: subscriptionStream(subscriptionId),
      events: [{ ...created, metadata }],
      expectedRevision: "no_stream",
    };
  });
  return [
    {
      stream: endpointStream(webhookId),
      events: endpointEvents.map((event) => ({ ...event, metadata })),
      expectedRevision: "no_stream",
    },
    ...subscriptions,
  ];
}

/** Runs `bin/herald.js replay all` (what `npx herald replay all` runs) and returns its JSON lines. */
async function replayAll(env: Record<string, string>): Promise<Record<string, unknown>[]> {
  const child = spawn(process.execPath, [join(root, "bin", "herald.js"), "replay", "all"], {
    // Only what the command reads: no EVENTSTORE_URL or NATS_URL from the caller's shell.
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  const code = await new Promise<number | null>((resolve, reject) => child.once("error", reject).once("exit", resolve));
  if (code !== 0) throw new Error(`herald replay all exited with ${code}: ${stdout}`);
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
