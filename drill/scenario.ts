/**
 * One drill: private PostgreSQL and NATS, herald as real processes, a real receiver; transactions
 * are published while a fault is injected; then the event store is checked for losses.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createSiweToken } from "../src/adapters/auth/siwe-token.js";
import { openPostgres } from "../src/adapters/db/database.js";
import type { StoredEvent } from "../src/adapters/eventstore/event-store.js";
import { createPostgresEventStore } from "../src/adapters/eventstore/postgres-event-store.js";
import { progress } from "../src/app/progress-bar.js";
import { type DrillReceiver, type ReceiverBehaviour, startDrillReceiver } from "./drill-receiver.js";
import { type HeraldProcess, startHeraldProcess } from "./herald-process.js";
import {
  freePort,
  type PrivateNats,
  type PrivatePostgres,
  startPrivateNats,
  startPrivatePostgres,
} from "./private-services.js";

const COLLECTION = "1:evm:0x6bca6de2dbdc4e0d41f7273011785ea16ba47182";
const SIWE_DOMAIN = "drill.herald.test";

export interface DrillContext {
  readonly postgres: PrivatePostgres;
  readonly nats: PrivateNats;
  readonly receiver: DrillReceiver;
  readonly heralds: HeraldProcess[];
  /** Resolves once the receiver has acknowledged this many transactions. */
  acknowledged(count: number): Promise<void>;
  /** Starts herald process `index` again (after a kill). */
  restartHerald(index: number): Promise<void>;
}

export interface Scenario {
  readonly name: string;
  readonly transactions: number;
  readonly processes: number;
  readonly retries: number;
  readonly behaviour: ReceiverBehaviour;
  readonly env?: Record<string, string>;
  readonly fault: (context: DrillContext) => Promise<string>;
}

export interface DrillResult {
  readonly drill: string;
  readonly passed: boolean;
  readonly transactions: number;
  readonly delivered: number;
  readonly received: number;
  readonly scheduledTwice: number;
  readonly incompleteHistories: number;
  readonly concurrentAttempts: number;
  readonly attempts: number;
  readonly seconds: number;
  readonly fault: string;
  readonly log: string;
}

export async function runScenario(scenario: Scenario): Promise<DrillResult> {
  const started = Date.now();
  const workDir = mkdtempSync(join(tmpdir(), `herald-drill-${scenario.name}-`));
  const logFile = join(workDir, "herald.log");
  const postgres = await startPrivatePostgres();
  const nats = await startPrivateNats();
  const receiver = await startDrillReceiver(scenario.behaviour);
  const ports = await Promise.all(Array.from({ length: scenario.processes }, () => freePort()));
  const env: Record<string, string> = {
    DATABASE_URL: postgres.url,
    NATS_URL: nats.url,
    HERALD_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    HERALD_ALLOW_PRIVATE_TARGETS: "true",
    HERALD_SIWE_DOMAIN: SIWE_DOMAIN,
    HERALD_DELIVERY_TIMEOUT_MS: "2000",
    HERALD_RETRY_BASE_MS: "100",
    HERALD_RETRY_MAX_MS: "2000",
    LOG_LEVEL: "warn",
    ...scenario.env,
  };
  const heralds: HeraldProcess[] = [];
  for (const port of ports) heralds.push(await startHeraldProcess(env, port, logFile));

  try {
    await createEndpointAndSubscription(heralds[0]!.url, receiver.url, scenario.retries);
    const context: DrillContext = {
      postgres,
      nats,
      receiver,
      heralds,
      async acknowledged(count) {
        const deadline = Date.now() + 240_000;
        while (receiver.acknowledged.size < count) {
          if (Date.now() > deadline)
            throw new Error(`receiver acknowledged only ${receiver.acknowledged.size} of ${count}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      },
      async restartHerald(index) {
        heralds[index] = await startHeraldProcess(env, ports[index]!, logFile);
      },
    };
    const publishing = publish(nats.url, scenario.transactions);
    const fault = await scenario.fault(context);
    await publishing;
    const deadline = Date.now() + 300_000;
    while (receiver.acknowledged.size < scenario.transactions && Date.now() < deadline) {
      progress(`${scenario.name}: delivered`, receiver.acknowledged.size, scenario.transactions);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    progress(`${scenario.name}: delivered`, receiver.acknowledged.size, scenario.transactions);
    const check = await checkStore(postgres.url, scenario.transactions);
    const result = {
      drill: scenario.name,
      transactions: scenario.transactions,
      delivered: receiver.acknowledged.size,
      received: check.received,
      scheduledTwice: check.scheduledTwice,
      incompleteHistories: check.incomplete,
      concurrentAttempts: receiver.overlaps.length,
      attempts: check.attempts,
      seconds: Math.round((Date.now() - started) / 1000),
      fault,
      log: logFile,
    };
    const passed =
      result.delivered === scenario.transactions &&
      result.received === scenario.transactions &&
      check.deliveries === scenario.transactions &&
      result.scheduledTwice === 0 &&
      result.incompleteHistories === 0 &&
      result.concurrentAttempts === 0;
    return { ...result, passed };
  } finally {
    for (const herald of heralds) await herald.kill("SIGTERM").catch(() => {});
    await receiver.close();
    await nats.stop();
    await postgres.stop();
  }
}

/** Signs in with a fresh key and creates the endpoint and subscription over GraphQL, as a subscriber would. */
async function createEndpointAndSubscription(heraldUrl: string, receiverUrl: string, retries: number): Promise<void> {
  const { token } = await createSiweToken({
    privateKey: `0x${randomBytes(32).toString("hex")}`,
    domain: SIWE_DOMAIN,
    ttlS: 3600,
  });
  const graphql = async <Data>(query: string, variables: Record<string, unknown>): Promise<Data> => {
    const response = await fetch(`${heraldUrl}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: Data; errors?: unknown[] };
    if (body.errors) throw new Error(`GraphQL: ${JSON.stringify(body.errors)}`);
    return body.data!;
  };
  const created = await graphql<{ createWebhookEndpoint: { webhookEndpoint: { webhookId: string } } }>(
    "mutation ($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { webhookEndpoint { webhookId } } }",
    { input: { url: receiverUrl, retries } },
  );
  await graphql(
    "mutation ($input: CreateWebhookSubscriptionInput!) { createWebhookSubscription(input: $input) { webhookSubscription { subscriptionId } } }",
    {
      input: {
        webhookId: created.createWebhookEndpoint.webhookEndpoint.webhookId,
        type: "asset-link",
        actions: ["create"],
        collectionId: COLLECTION,
      },
    },
  );
}

/** Publishes with a message id each, retrying through NATS outages: a retry is deduplicated. */
async function publish(natsUrl: string, count: number): Promise<void> {
  const nc = await connect({ servers: natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const js = jetstream(nc);
  try {
    for (let next = 0; next < count; next += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, count - next) }, async (_, k) => {
          const n = next + k;
          const transaction = {
            status: "SUCCESS",
            signature: `0x${(n + 1).toString(16).padStart(64, "0")}`,
            message: "",
            events: [{ type: "asset-link", action: "create", args: [`asset-${n}`], collectionId: COLLECTION }],
          };
          for (let attempt = 0; ; attempt++) {
            try {
              await js.publish("asset-register.transactions", JSON.stringify(transaction), {
                msgID: `drill-${n}`,
                timeout: 2000,
              });
              return;
            } catch (error) {
              if (attempt > 200) throw error;
              await new Promise((resolve) => setTimeout(resolve, 250));
            }
          }
        }),
      );
      // Pace the publisher so that faults land mid-run rather than after everything is queued.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await nc.close();
  }
}

/** Reads the whole log and checks that nothing was lost, scheduled twice or left half-recorded. */
async function checkStore(databaseUrl: string, transactions: number) {
  const database = await openPostgres(databaseUrl);
  const store = await createPostgresEventStore(database);
  try {
    const readAll = async (prefixes: string[]) => {
      const events: StoredEvent[] = [];
      for (;;) {
        const page = await store.readAll(events.at(-1)?.position ?? "start", {
          filter: { streamPrefixes: prefixes },
          maxCount: 5000,
        });
        if (page.length === 0) return events;
        events.push(...page);
      }
    };
    // The last outcomes may still be on their way: give the log a moment to settle.
    let deliveries = new Map<string, StoredEvent[]>();
    const deadline = Date.now() + 60_000;
    for (;;) {
      deliveries = new Map();
      for (const event of await readAll(["delivery-"]))
        deliveries.set(event.stream, [...(deliveries.get(event.stream) ?? []), event]);
      const settled = [...deliveries.values()].filter((events) => events.at(-1)?.type === "DeliverySucceeded").length;
      if ((settled >= transactions && deliveries.size >= transactions) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const received = new Set(
      (await readAll(["transaction-"]))
        .filter((event) => event.type === "TransactionReceived")
        .map((event) => event.stream),
    ).size;
    let scheduledTwice = 0;
    let incomplete = 0;
    let attempts = 0;
    for (const events of deliveries.values()) {
      if (events.filter((event) => event.type === "DeliveryScheduled").length !== 1) scheduledTwice++;
      const attempted = events
        .filter((event) => event.type === "DeliveryAttempted")
        .map((event) => (event.data as { attempt: number }).attempt);
      attempts += attempted.length;
      const contiguous = attempted.every((attempt, index) => attempt === index + 1);
      if (
        events[0]?.type !== "DeliveryScheduled" ||
        events.at(-1)?.type !== "DeliverySucceeded" ||
        !contiguous ||
        attempted.length === 0
      )
        incomplete++;
    }
    return { received, deliveries: deliveries.size, scheduledTwice, incomplete, attempts };
  } finally {
    await store.close();
    await database.close();
  }
}
