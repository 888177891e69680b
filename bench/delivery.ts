/**
 * Webhook delivery end to end, NATS publish → POST received by a loopback receiver, with herald in
 * this process on a database of its own (8 endpoints, one subscription each). In one run:
 * - idle: single transactions published one at a time, each after the previous one arrived and a pause;
 * - paced at 200 and at 500 transactions/s (p50/p90/p99/max of each delivery);
 * - a burst published at once, its deliveries/s beside a plain keep-alive undici loop POSTing to the
 *   same receiver at the same concurrency (the ratio is the figure that counts: what the durable,
 *   recorded path costs over a bare POST);
 * - history: herald stopped, the log grown to BENCH_HISTORY_EVENTS events in bulk (bench-history.ts),
 *   herald restarted on it, and idle and paced runs again: p99 at both sizes side by side.
 * Only public surfaces: NATS, the receiver, /metrics, the event store port (endpoints, the final check).
 */
// herald in this process: type-graphql needs the metadata polyfill before it loads, as in main.ts.
import "reflect-metadata";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { sql } from "kysely";
import { Agent, request } from "undici";
import type { EventStore, ReadFrom, StoredEvent } from "../src/adapters/eventstore/event-store.js";
import { NATS_URL } from "../test/support/services.js";
import { startTestHerald, type TestHerald } from "../test/support/test-herald.js";
import { createEndpoint, createSubscription } from "../test/support/webhooks.js";
import { loadHistory, vacuumAnalyze } from "./bench-history.js";
import { cpuMeter, latencySummary, machine, progress, round, statementCounter } from "./bench-support.js";

const BURST = Number(process.env.BENCH_DELIVERIES ?? 5000);
const HISTORY_EVENTS = Number(process.env.BENCH_HISTORY_EVENTS ?? 1_000_000);
const WARMUP = 200;
/** Endpoints on the one receiver, so HERALD_ENDPOINT_CONCURRENCY (10) does not cap the worker's 64. */
const ENDPOINTS = 8;
const CONCURRENCY = 64;
/** Paced rates: under capacity, so that latency is a delivery's own, not time spent queued. */
const PACED_RATES = [200, 500] as const;
const PACED_SECONDS = 5;
/** Publications are spread over ticks this long, not sent in bunches. */
const PACED_TICK_MS = 20;
const IDLE_TRANSACTIONS = 30;
/** Between idle transactions: long enough for herald to finish recording the previous one. */
const IDLE_PAUSE_MS = 150;

type Latency = ReturnType<typeof latencySummary>;

export async function run(): Promise<Record<string, unknown>> {
  const receiver = await startReceiver();
  let herald = await startTestHerald({ env: { LOG_LEVEL: "warn", HERALD_WORKER_CONCURRENCY: String(CONCURRENCY) } });
  const nc = await connect({ servers: NATS_URL });
  try {
    const collections = Array.from(
      { length: ENDPOINTS },
      (_, i) => `1:evm:0x${(i + 1).toString(16).padStart(40, "0")}`,
    );
    for (const [i, collectionId] of collections.entries()) {
      const endpoint = await createEndpoint(herald.herald.store, `${receiver.url}/hook-${i}`, 5);
      await createSubscription(herald.herald.store, endpoint.webhookId, {
        type: "asset-link",
        actions: ["create"],
        collectionId,
      });
    }
    const publisher = transactionPublisher(nc, herald.nats!.txSubject, collections);

    await receiver.phase(WARMUP, () => publisher.publish(WARMUP), "delivery: warm-up");
    await vacuumAnalyze(herald.database.url);
    const freshEvents = await eventsInLog(herald.herald.store);
    const fresh = await idleAndPaced(herald, publisher, receiver);

    const statements = statementCounter();
    const cpu = cpuMeter();
    const burst = await receiver.phase(
      BURST,
      async () => {
        const started = performance.now();
        await publisher.publish(BURST, "delivery: burst publish");
        return started;
      },
      "delivery: burst received",
    );
    const burstSeconds = (performance.now() - burst.result) / 1000;
    // Until the read models have applied the burst too: what its deliveries cost the database in all.
    await caughtUp(herald);
    const burstStatements = statements();
    const burstCpu = cpu();
    const body = JSON.stringify(publisher.transaction(0));
    const plainCpu = cpuMeter();
    const plain = await plainLoop(`${receiver.url}/plain`, body, BURST);
    const plainCpuMs = plainCpu().process;
    await everyAttemptAppended(herald.herald.store, "start", receiver.delivered());

    let history: Record<string, unknown> | undefined;
    if (HISTORY_EVENTS > 0) {
      await herald.stop();
      const loaded = await loadHistory(herald.database.url, HISTORY_EVENTS);
      herald = await herald.restart();
      const from = await herald.herald.store.headPosition();
      const deliveredBefore = receiver.delivered();
      // A restarted process: its connections and caches are new, as after a deploy.
      await receiver.phase(WARMUP, () => publisher.publish(WARMUP), "delivery: warm-up after restart");
      const runs = await idleAndPaced(herald, publisher, receiver);
      await everyAttemptAppended(herald.herald.store, from, receiver.delivered() - deliveredBefore);
      history = { eventsInLog: loaded.eventsInLog, loadSeconds: loaded.seconds, ...runs };
    }

    const deliveriesPerSecond = BURST / burstSeconds;
    const p99 = (runs: Record<string, unknown> | undefined, key: string) =>
      (runs?.[key] as { latencyMs: Latency } | undefined)?.latencyMs.p99;
    return {
      endpoints: ENDPOINTS,
      concurrency: CONCURRENCY,
      // When the idle and paced runs began (the history's figure is the same, after its load).
      eventsInLog: freshEvents,
      ...fresh,
      burst: {
        transactions: BURST,
        deliveriesPerSecond: round(deliveriesPerSecond),
        // Every statement herald sent from the burst's first publication until it was caught up.
        statementsPerDelivery: round(burstStatements / BURST, 2),
        // CPU per delivery until caught up: this process (herald, the receiver and the publisher) and
        // PostgreSQL's, beside the plain loop's per POST (its client and the receiver).
        cpuMsPerDelivery: {
          process: round(burstCpu.process / BURST, 3),
          postgres: burstCpu.postgres === undefined ? null : round(burstCpu.postgres / BURST, 3),
        },
        // Published at once: latency includes the time spent queued behind the burst.
        latencyMs: latencySummary(burst.latencies),
      },
      plainKeepAlivePostsPerSecond: round(plain),
      plainCpuMsPerPost: round(plainCpuMs / BURST, 3),
      burstRatioToPlain: round(deliveriesPerSecond / plain, 3),
      history: history ?? "skipped (BENCH_HISTORY_EVENTS=0)",
      p99ByLogSize: Object.fromEntries(
        ["idle", ...PACED_RATES.map((rate) => `paced${rate}`)].map((key) => [
          key,
          { fresh: p99(fresh, key), history: p99(history, key) },
        ]),
      ),
      duplicateDeliveries: receiver.duplicates(),
      everyAttemptAppended: true,
      machine: machine(),
    };
  } finally {
    await nc.close();
    await herald.cleanup();
    await receiver.close();
  }
}

/**
 * Idle single transactions, then each paced rate. Read models off the delivery path (history,
 * health…) may still be applying what came before: herald is caught up before the idle run and
 * between rates, or the figures would measure their backlog, not a delivery.
 */
async function idleAndPaced(
  herald: TestHerald,
  publisher: Publisher,
  receiver: Receiver,
): Promise<Record<string, PacedRun>> {
  await caughtUp(herald);
  const latencies: number[] = [];
  for (let i = 0; i < IDLE_TRANSACTIONS; i++) {
    await sleep(IDLE_PAUSE_MS);
    const { latencies: one } = await receiver.phase(1, () => publisher.publish(1));
    latencies.push(...one);
    progress("delivery: idle, one at a time", i + 1, IDLE_TRANSACTIONS);
  }
  const runs: Record<string, PacedRun> = {
    idle: { transactions: IDLE_TRANSACTIONS, latencyMs: latencySummary(latencies.sort((a, b) => a - b)) },
  };
  for (const [i, rate] of PACED_RATES.entries()) {
    // The idle run leaves nothing behind; a paced one may.
    if (i > 0) await caughtUp(herald);
    const total = rate * PACED_SECONDS;
    const walBefore = await walWritten(herald);
    const paced = await receiver.phase(
      total,
      () => publisher.paced(rate, total, `delivery: paced ${rate}/s`),
      `delivery: received at ${rate}/s`,
    );
    const walAfter = await walWritten(herald);
    runs[`paced${rate}`] = {
      transactions: total,
      latencyMs: latencySummary(paced.latencies),
      // The whole server's WAL while the run lasted, per transaction: full-page images are what a
      // page's first change after a checkpoint costs, the part that grows with scattered index writes.
      ...(walBefore &&
        walAfter && {
          walPerTransaction: {
            kB: round((walAfter.bytes - walBefore.bytes) / 1024 / total, 2),
            fullPageImages: round((walAfter.fullPageImages - walBefore.fullPageImages) / total, 2),
            checkpointsDuring: walAfter.checkpoints - walBefore.checkpoints,
          },
        }),
    };
  }
  return runs;
}

interface PacedRun {
  readonly transactions: number;
  readonly latencyMs: Latency;
  readonly walPerTransaction?: { kB: number; fullPageImages: number; checkpointsDuring: number };
}

/** PostgreSQL's WAL written so far and its checkpoints (pg_stat_wal: PostgreSQL 14 and later, else undefined). */
async function walWritten(
  herald: TestHerald,
): Promise<{ bytes: number; fullPageImages: number; checkpoints: number } | undefined> {
  try {
    const { rows } = await sql<{ bytes: string; fpi: string; checkpoints: string }>`
      select w.wal_bytes::text as bytes, w.wal_fpi::text as fpi,
        (b.checkpoints_timed + b.checkpoints_req)::text as checkpoints
      from pg_stat_wal w, pg_stat_bgwriter b`.execute(herald.herald.database.db);
    const [row] = rows;
    return row && { bytes: Number(row.bytes), fullPageImages: Number(row.fpi), checkpoints: Number(row.checkpoints) };
  } catch {
    return undefined;
  }
}

type Publisher = ReturnType<typeof transactionPublisher>;

function transactionPublisher(nc: NatsConnection, subject: string, collections: readonly string[]) {
  const js = jetstream(nc);
  let sequence = 0;
  const transaction = (n: number) => ({
    status: "SUCCESS",
    signature: `0x${(n + 1).toString(16).padStart(64, "0")}`,
    message: "",
    // The receiver's clock: the latency of a delivery is its arrival time minus this.
    sentAt: Date.now(),
    events: [
      {
        type: "asset-link",
        action: "create",
        args: ["equipWith_asmBrain", `did:fv-asset:1:evm:0x6bca:${n}`],
        collectionId: collections[n % collections.length],
      },
    ],
  });
  const send = (count: number) =>
    Promise.all(
      Array.from({ length: count }, () => {
        const n = sequence++;
        return js.publish(subject, JSON.stringify(transaction(n)), { msgID: `bench-${n}` });
      }),
    );
  return {
    transaction,
    /** `count` transactions as fast as NATS takes them, 250 in flight. */
    async publish(count: number, label?: string) {
      for (let sent = 0; sent < count; ) {
        const chunk = Math.min(250, count - sent);
        await send(chunk);
        sent += chunk;
        if (label) progress(label, sent, count);
      }
    },
    /** `total` transactions at `perSecond`, spread over ticks of PACED_TICK_MS (catching up if a tick ran late). */
    async paced(perSecond: number, total: number, label: string) {
      const started = performance.now();
      const pending: Promise<unknown>[] = [];
      for (let sent = 0; sent < total; ) {
        const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * perSecond) + 1);
        if (due > sent) {
          pending.push(send(due - sent));
          sent = due;
          progress(label, sent, total);
        }
        await sleep(PACED_TICK_MS);
      }
      await Promise.all(pending);
    },
  };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/**
 * A bare loopback endpoint: 200 for everything; for deliveries, the latency since publication. A
 * phase counts the distinct deliveries it receives, without polling anything.
 */
async function startReceiver() {
  const seen = new Set<string>();
  let duplicates = 0;
  let current: { latencies: number[]; expected: number; label?: string; done: () => void } | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.url?.startsWith("/hook-")) {
        const latency = Date.now() - (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { sentAt: number }).sentAt;
        const id = String(req.headers["webhook-id"]);
        if (seen.has(id)) duplicates++;
        else {
          seen.add(id);
          if (current) {
            current.latencies.push(latency);
            if (current.label) progress(current.label, current.latencies.length, current.expected);
            if (current.latencies.length >= current.expected) current.done();
          }
        }
      }
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Runs `publish` and waits for `expected` new deliveries; their latencies come back sorted. */
    async phase<T>(
      expected: number,
      publish: () => Promise<T>,
      label?: string,
      timeoutMs = 300_000,
    ): Promise<{ result: T; latencies: number[] }> {
      const latencies: number[] = [];
      const arrived = new Promise<void>((resolve) => (current = { latencies, expected, label, done: resolve }));
      const timer = setTimeout(() => current?.done(), timeoutMs);
      try {
        const result = await publish();
        await arrived;
        if (latencies.length < expected)
          throw new Error(`bench: ${latencies.length} of ${expected} deliveries arrived within ${timeoutMs} ms`);
        return { result, latencies: latencies.sort((a, b) => a - b) };
      } finally {
        clearTimeout(timer);
        current = undefined;
      }
    },
    /** Distinct deliveries received so far. */
    delivered: () => seen.size,
    duplicates: () => duplicates,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The same receiver, the same concurrency, the same kind of body: POSTs in a keep-alive loop with undici. */
async function plainLoop(url: string, body: string, total: number): Promise<number> {
  const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 30_000 });
  let issued = 0;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (issued < total) {
        issued++;
        const response = await request(url, {
          method: "POST",
          dispatcher: agent,
          headers: { "content-type": "application/json" },
          body,
        });
        await response.body.text();
        progress("delivery: plain keep-alive loop", ++done, total);
      }
    }),
  );
  const rate = total / ((performance.now() - started) / 1000);
  await agent.close();
  return rate;
}

/**
 * Every projection caught up, as /metrics reports it (herald_projection_lag_seconds 0 for all). The
 * gauge is cached for up to 5 s, so only a reading taken that long after the wait began counts.
 */
async function caughtUp(herald: TestHerald, timeoutMs = 300_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    const text = await (await fetch(`${herald.url}/metrics`)).text();
    const lags = text
      .split("\n")
      .filter((line) => line.startsWith("herald_projection_lag_seconds{"))
      .map((line) => Number(line.split(" ").at(-1)));
    if (lags.length === 0)
      throw new Error("bench: /metrics has no herald_projection_lag_seconds to tell when herald is caught up");
    if (lags.every((lag) => lag === 0) && Date.now() - started > 5_500) return;
    if (Date.now() - started > timeoutMs) throw new Error("bench: the projections did not catch up");
    await sleep(500);
  }
}

/** Once at the end: one DeliverySucceeded in the log for each delivery received (they are appended just after the POST). */
async function everyAttemptAppended(
  store: EventStore,
  from: ReadFrom,
  expected: number,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let count = 0;
    for (let position = from; ; ) {
      const page = await store.readAll(position, { filter: { eventTypes: ["DeliverySucceeded"] }, maxCount: 10_000 });
      const last = page.at(-1);
      if (!last) break;
      count += page.length;
      position = last.position;
    }
    if (count >= expected) return;
    if (Date.now() > deadline)
      throw new Error(`bench: ${count} DeliverySucceeded in the log for ${expected} deliveries received`);
    await sleep(250);
  }
}

async function eventsInLog(store: EventStore): Promise<number> {
  let count = 0;
  for (let position: ReadFrom = "start"; ; ) {
    const page: StoredEvent[] = await store.readAll(position, { maxCount: 10_000 });
    const last = page.at(-1);
    if (!last) return count;
    count += page.length;
    position = last.position;
  }
}
