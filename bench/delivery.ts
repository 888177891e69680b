/**
 * Webhook delivery end to end: transactions published on NATS until the receiver has them and every
 * attempt is appended (DeliverySucceeded for each), with herald in this process on a fresh database.
 * The same receiver is then driven by a plain undici loop at the same concurrency: the ratio of the
 * two rates is the figure that counts (how much the durable, recorded path costs over a bare POST).
 */
// herald in this process: type-graphql needs the metadata polyfill before it loads, as in main.ts.
import "reflect-metadata";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Agent, request } from "undici";
import { readCheckpoint } from "../src/projections/checkpoints.js";
import { NATS_URL } from "../test/support/services.js";
import { startTestHerald } from "../test/support/test-herald.js";
import { createEndpoint, createSubscription } from "../test/support/webhooks.js";
import { latencySummary, machine, progress, round } from "./bench-support.js";

const TRANSACTIONS = Number(process.env.BENCH_DELIVERIES ?? 5000);
const WARMUP = 200;
/** Endpoints on the one receiver, so HERALD_ENDPOINT_CONCURRENCY (10) does not cap the worker's 64. */
const ENDPOINTS = 8;
const CONCURRENCY = 64;
/** The paced phase: well under capacity, so its latency is a delivery's own, not time spent queued. */
const PACED_PER_SECOND = 200;
const PACED_SECONDS = 5;

export async function run(): Promise<Record<string, unknown>> {
  const receiver = await startReceiver();
  const herald = await startTestHerald({ env: { LOG_LEVEL: "warn", HERALD_WORKER_CONCURRENCY: String(CONCURRENCY) } });
  const nc = await connect({ servers: NATS_URL });
  try {
    const store = herald.herald.store;
    const collections = Array.from({ length: ENDPOINTS }, (_, i) => `1:evm:0x${(i + 1).toString(16).padStart(40, "0")}`);
    for (const [i, collectionId] of collections.entries()) {
      const endpoint = await createEndpoint(store, `${receiver.url}/hook-${i}`, 5);
      await createSubscription(store, endpoint.webhookId, { type: "asset-link", actions: ["create"], collectionId });
    }
    const js = jetstream(nc);
    let sequence = 0;
    const publish = async (count: number, label: string) => {
      for (let sent = 0; sent < count; ) {
        const chunk = Math.min(250, count - sent);
        await Promise.all(
          Array.from({ length: chunk }, () => {
            const n = sequence++;
            const transaction = {
              status: "SUCCESS",
              signature: `0x${(n + 1).toString(16).padStart(64, "0")}`,
              message: "",
              sentAt: Date.now(),
              events: [{ type: "asset-link", action: "create", args: ["equipWith_asmBrain", `did:fv-asset:1:evm:0x6bca:${n}`], collectionId: collections[n % ENDPOINTS] }],
            };
            return js.publish(herald.nats!.txSubject, JSON.stringify(transaction), { msgID: `bench-${n}` });
          }),
        );
        sent += chunk;
        progress(label, sent, count);
      }
    };
    const succeeded = async () => (await store.readAll("start", { filter: { eventTypes: ["DeliverySucceeded"] }, maxCount: 1_000_000 })).length;

    await publish(WARMUP, "delivery: warm-up publish");
    await waitUntil(async () => receiver.received.length >= WARMUP && (await succeeded()) >= WARMUP);
    receiver.received.length = 0;

    const started = performance.now();
    const publishing = publish(TRANSACTIONS, "delivery: publish");
    await waitUntil(async () => {
      progress("delivery: received", Math.min(receiver.received.length, TRANSACTIONS), TRANSACTIONS);
      return receiver.received.length >= TRANSACTIONS;
    });
    await publishing;
    await waitUntil(async () => (await succeeded()) >= WARMUP + TRANSACTIONS);
    const seconds = (performance.now() - started) / 1000;
    const latencies = receiver.received.map((r) => r.latencyMs).sort((a, b) => a - b);
    const duplicates = receiver.received.length - new Set(receiver.received.map((r) => r.id)).size;

    // Paced: batches every 100 ms, then the latency of each delivery on its own. The burst's events
    // are still being applied by the read models that are not on the delivery path (history, health…):
    // pacing before they catch up would measure their backlog, not a delivery.
    await waitUntil(async () => {
      const behind = await Promise.all(
        [...herald.herald.projections.values()].map(async (runner) => {
          const checkpoint = await readCheckpoint(herald.herald.database.db, runner.name);
          return (await store.readAll(checkpoint?.position ?? "start", { filter: { eventTypes: runner.eventTypes }, maxCount: 1 })).length;
        }),
      );
      return behind.every((count) => count === 0);
    });
    receiver.received.length = 0;
    const paced = PACED_PER_SECOND * PACED_SECONDS;
    for (let tick = 0; tick < PACED_SECONDS * 10; tick++) {
      const tickStarted = performance.now();
      await publish(PACED_PER_SECOND / 10, "delivery: paced publish");
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 100 - (performance.now() - tickStarted))));
    }
    await waitUntil(async () => receiver.received.length >= paced);
    const pacedLatencies = receiver.received.map((r) => r.latencyMs).sort((a, b) => a - b);

    const body = JSON.stringify({ status: "SUCCESS", signature: "0x00", message: "", sentAt: Date.now(), events: [{ type: "asset-link", action: "create", args: ["x", "y"], collectionId: collections[0] }] });
    const plain = await plainLoop(`${receiver.url}/plain`, body, TRANSACTIONS);

    const rate = TRANSACTIONS / seconds;
    return {
      deliveries: TRANSACTIONS,
      endpoints: ENDPOINTS,
      concurrency: CONCURRENCY,
      deliveriesPerSecond: round(rate),
      // A burst of `deliveries` published at once: latency includes the time spent queued behind it.
      burstLatencyMs: latencySummary(latencies),
      pacedPerSecond: PACED_PER_SECOND,
      pacedLatencyMs: latencySummary(pacedLatencies),
      duplicateDeliveries: duplicates,
      everyAttemptAppended: true,
      plainUndiciPostsPerSecond: round(plain),
      ratioToPlainUndici: round(rate / plain, 3),
      machine: machine(),
    };
  } finally {
    await nc.close();
    await herald.cleanup();
    await receiver.close();
  }
}

interface Receipt {
  readonly id: string;
  readonly latencyMs: number;
}

/** A bare loopback endpoint: 200 for everything; for deliveries, the latency since publication. */
async function startReceiver() {
  const received: Receipt[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.url?.startsWith("/hook-")) {
        const { sentAt } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { sentAt: number };
        received.push({ id: String(req.headers["webhook-id"]), latencyMs: Date.now() - sentAt });
      }
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** The same receiver, the same concurrency, the same kind of body: POSTs in a loop with undici. */
async function plainLoop(url: string, body: string, total: number): Promise<number> {
  const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 30_000 });
  let issued = 0;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (issued < total) {
        issued++;
        const response = await request(url, { method: "POST", dispatcher: agent, headers: { "content-type": "application/json" }, body });
        await response.body.text();
        progress("delivery: plain undici", ++done, total);
      }
    }),
  );
  const rate = total / ((performance.now() - started) / 1000);
  await agent.close();
  return rate;
}

async function waitUntil(done: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error("bench: timed out waiting for deliveries");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
