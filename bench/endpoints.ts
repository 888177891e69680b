/**
 * Per-endpoint limits in wall-clock time, the figures the e2e tests leave out because a busy machine
 * bends them (test/e2e/endpoint-rate-limit.test.ts, endpoint-isolation.test.ts):
 * - rate limit: 15 transactions ingested at once for an endpoint limited to 5/s and for an unlimited
 *   one on the same receiver: the tightest span of 6 consecutive arrivals at the limited one (1000 ms
 *   or more when the limit holds), all 15, and when the unlimited one had all of its own;
 * - isolation: 10 deliveries to a healthy endpoint alone, then beside an endpoint that never answers
 *   (HERALD_ENDPOINT_CONCURRENCY 2, 5 s attempt timeout): the ms each batch took, and their ratio.
 */
// herald in this process: type-graphql needs the metadata polyfill before it loads, as in main.ts.
import "reflect-metadata";
import { setTimeout as sleep } from "node:timers/promises";
import type { Transaction } from "../src/domain/ingest-events.js";
import { fixtureTransactions, SEED_COLLECTION } from "../test/support/fixtures.js";
import { ingestOverHttp, startTestHerald, type TestHerald } from "../test/support/test-herald.js";
import { startWebhookReceiver, type WebhookReceiver } from "../test/support/webhook-receiver.js";
import { changeEndpoint, createEndpoint, createSubscription } from "../test/support/webhooks.js";
import { machine, progress, round } from "./bench-support.js";

const RATE_LIMIT = 5;
const RATE_COUNT = 15;
const BATCH = 10;

export async function run(): Promise<Record<string, unknown>> {
  const receiver = await startWebhookReceiver();
  const herald = await startTestHerald({
    nats: false,
    env: {
      LOG_LEVEL: "warn",
      HERALD_DELIVERY_TIMEOUT_MS: "5000",
      HERALD_ENDPOINT_CONCURRENCY: "2",
      HERALD_RETRY_BASE_MS: "600000",
      HERALD_RETRY_MAX_MS: "600000",
    },
  });
  try {
    const [seed] = fixtureTransactions() as [Transaction];
    const world = { herald, receiver, seed };
    return { machine: machine(), rateLimit: await rateLimit(world), isolation: await isolation(world) };
  } finally {
    await herald.cleanup();
    await receiver.close();
  }
}

interface World {
  readonly herald: TestHerald;
  readonly receiver: WebhookReceiver;
  readonly seed: Transaction;
}

async function rateLimit({ herald, receiver, seed }: World): Promise<Record<string, unknown>> {
  const limited = await endpointAt(herald, `${receiver.url}/limited`);
  await changeEndpoint(herald.herald.store, limited, {
    type: "WebhookEndpointUpdated",
    data: { webhookId: limited, rateLimit: RATE_LIMIT },
  });
  await endpointAt(herald, `${receiver.url}/free`);
  await herald.herald.projections.get("delivery-queue")?.waitFor(await herald.herald.store.headPosition(), 10_000);

  const started = Date.now();
  await Promise.all(Array.from({ length: RATE_COUNT }, (_, i) => ingest(herald, seed, `rate-${i}`)));
  const free = await arrivals(receiver, "/free", RATE_COUNT, "endpoints: unlimited");
  const times = await arrivals(receiver, "/limited", RATE_COUNT, "endpoints: rate-limited");
  const windows = times.slice(RATE_LIMIT).map((at, i) => at - (times[i] ?? at));
  const freeDone = Math.max(...free);
  return {
    limitPerSecond: RATE_LIMIT,
    deliveries: RATE_COUNT,
    tightestSixMs: Math.min(...windows),
    limitedSpanMs: (times.at(-1) ?? started) - (times[0] ?? started),
    limitedSpanExpectedMs: ((RATE_COUNT - 1) * 1000) / RATE_LIMIT,
    unlimitedDoneMs: freeDone - started,
    unlimitedDoneBeforeLimitedSixth: freeDone < (times[RATE_LIMIT] ?? 0),
  };
}

async function isolation({ herald, receiver, seed }: World): Promise<Record<string, unknown>> {
  receiver.script("/hang", [{ hang: true, status: 200 }]);
  await endpointAt(herald, `${receiver.url}/fast`);
  const batch = async (label: string, total: number) => {
    const started = performance.now();
    await Promise.all(Array.from({ length: BATCH }, (_, i) => ingest(herald, seed, `${label}-${i}`)));
    await arrivals(receiver, "/fast", total, `endpoints: ${label}`);
    return performance.now() - started;
  };
  // A first batch warms the path up, so that the baseline is not a cold start.
  await batch("warm", BATCH);
  const alone = await batch("alone", 2 * BATCH);
  await endpointAt(herald, `${receiver.url}/hang`);
  const beside = await batch("beside-hanging", 3 * BATCH);
  return {
    deliveries: BATCH,
    aloneMs: round(alone),
    besideHangingMs: round(beside),
    ratio: round(beside / alone, 2),
    hangingInFlight: receiver.on("/hang").length,
  };
}

/** A new endpoint at `url`, subscribed to the seed transaction's events. */
async function endpointAt(herald: TestHerald, url: string): Promise<string> {
  const endpoint = await createEndpoint(herald.herald.store, url);
  await createSubscription(herald.herald.store, endpoint.webhookId, {
    type: "asset-link",
    actions: ["create", "delete"],
    collectionId: SEED_COLLECTION,
  });
  return endpoint.webhookId;
}

async function ingest(herald: TestHerald, transaction: Transaction, key: string): Promise<void> {
  const response = await ingestOverHttp(herald.url, transaction, key);
  if (response.status !== 202) throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
}

/** The arrival times at `path`, sorted, once it has `count` requests (60 s at most). */
async function arrivals(receiver: WebhookReceiver, path: string, count: number, label: string): Promise<number[]> {
  const deadline = Date.now() + 60_000;
  while (receiver.on(path).length < count) {
    if (Date.now() > deadline) throw new Error(`${label}: ${receiver.on(path).length} of ${count} after 60 s`);
    progress(label, receiver.on(path).length, count);
    await sleep(10);
  }
  progress(label, count, count);
  return receiver
    .on(path)
    .map((request) => request.at)
    .sort((a, b) => a - b);
}
