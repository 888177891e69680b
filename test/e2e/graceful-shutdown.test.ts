import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Database, openPostgres } from "../../src/adapters/db/database.js";
import { migrate } from "../../src/adapters/db/migrations.js";
import type { EventStore, StoredEvent } from "../../src/adapters/eventstore/event-store.js";
import { createPostgresEventStore } from "../../src/adapters/eventstore/postgres-event-store.js";
import type { HeraldEventType } from "../../src/domain/herald-event.js";
import { SEED_COLLECTION } from "../support/fixtures.js";
import { untilListening } from "../support/herald-child.js";
import { NATS_URL } from "../support/services.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";
import {
  type NatsTestNames,
  natsTestNames,
  startTestHerald,
  TEST_ENCRYPTION_KEY,
  TEST_INGEST_TOKEN,
} from "../support/test-herald.js";
import { startWebhookReceiver } from "../support/webhook-receiver.js";
import { changeEndpoint, createEndpoint, createSubscription } from "../support/webhooks.js";

/** A receiver that holds each request open for `holdMs` before answering 200, and says when. */
async function startSlowReceiver(holdMs: number) {
  const received: string[] = [];
  const answered: string[] = [];
  let onReceived = () => {};
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      received.push(body);
      onReceived();
      setTimeout(() => {
        res.writeHead(200).end("ok");
        res.once("finish", () => answered.push(body));
      }, holdMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    answered,
    /** Resolves when a request has arrived (its answer still held). */
    firstRequest: () =>
      new Promise<void>((resolve) => {
        if (received.length > 0) resolve();
        else onReceived = resolve;
      }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * `npm start` itself: a process manager signals npm, which passes the signal to its script's process.
 * The script must exec herald (package.json): a shell left in between dies on SIGTERM and leaves
 * herald running without having drained.
 */
function startCommand(): { command: string; args: string[] } {
  return { command: "npm", args: ["start", "--silent"] };
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/**
 * SIGTERM drains in every NODE_ENV: herald is started as `npm start` starts it, without NODE_ENV
 * (Apollo Server installs its own signal handler unless NODE_ENV=test, which is why in-process
 * tests never saw it re-send the signal).
 */
describe("graceful shutdown as npm start runs herald", () => {
  let database: TestDatabase;
  let names: NatsTestNames;
  let storage: Database;
  let store: EventStore;
  let nc: NatsConnection;
  let child: ChildProcess | undefined;
  let published = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    names = natsTestNames();
    storage = await openPostgres(database.url);
    await migrate(storage.db);
    store = await createPostgresEventStore(storage);
    nc = await connect({ servers: NATS_URL });
  });
  afterEach(() => {
    if (child?.exitCode === null) child.kill("SIGKILL");
  });
  afterAll(async () => {
    await nc?.close();
    await store?.close();
    await storage?.close();
    await names?.cleanup();
    await database?.drop();
  });

  async function startHerald(): Promise<ChildProcess> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...names.env,
      DATABASE_URL: database.url,
      PORT: "0",
      HERALD_ALLOW_PRIVATE_TARGETS: "true",
      HERALD_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      HERALD_DELIVERY_TIMEOUT_MS: "10000",
      LOG_LEVEL: "info",
    };
    // vitest sets NODE_ENV=test; a real deployment has none, and Apollo behaves differently then.
    delete env.NODE_ENV;
    const { command, args } = startCommand();
    const started = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    started.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    started.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    // Generous: a child process compiling herald with tsx on a shared, loaded machine starts slowly.
    await untilListening(started, () => output, 90_000);
    return started;
  }

  async function publishTransaction(): Promise<string> {
    published++;
    const signature = `0x${published.toString(16).padStart(64, "0")}`;
    const transaction = {
      status: "SUCCESS",
      signature,
      message: "",
      events: [{ type: "asset-link", action: "create", args: ["a"], collectionId: SEED_COLLECTION }],
    };
    await jetstream(nc).publish(names.txSubject, JSON.stringify(transaction), { msgID: `shutdown-${signature}` });
    return signature;
  }

  async function eventsOf(type: HeraldEventType): Promise<StoredEvent[]> {
    return store.readAll("start", { filter: { eventTypes: [type] }, maxCount: 1000 });
  }

  it("finishes the attempt in flight, records it as delivered, and exits 0 on SIGTERM", {
    timeout: 150_000,
  }, async () => {
    const receiver = await startSlowReceiver(1500);
    try {
      const endpoint = await createEndpoint(store, receiver.url);
      await createSubscription(store, endpoint.webhookId, {
        type: "asset-link",
        actions: ["create"],
        collectionId: SEED_COLLECTION,
      });
      child = await startHerald();
      const exited = exitOf(child);
      const signature = await publishTransaction();
      await receiver.firstRequest();

      child.kill("SIGTERM");
      expect(await exited).toBe(0);

      // The receiver got the request and answered it; the attempt is in the store as a success, once.
      expect(receiver.received).toHaveLength(1);
      expect(receiver.answered).toHaveLength(1);
      expect(JSON.parse(receiver.answered[0] ?? "{}")).toMatchObject({ signature });
      // Appended before the exit; global reads may trail an append by a moment (the event store port).
      await expect.poll(async () => (await eventsOf("DeliverySucceeded")).length, { timeout: 20_000 }).toBe(1);
      const succeeded = await eventsOf("DeliverySucceeded");
      expect(succeeded[0]?.stream).toContain("delivery-");
      const attempts = (await eventsOf("DeliveryAttempted")).filter((event) => event.stream === succeeded[0]?.stream);
      expect(attempts).toHaveLength(1);
      expect(attempts[0]?.data).toMatchObject({ status: 200 });
    } finally {
      await receiver.close();
    }
  });

  it("exits at once, non-zero, on a second signal while draining", { timeout: 150_000 }, async () => {
    // Held far longer than the test waits: only a prompt exit lets the test see the process end
    // before the receiver answers.
    const receiver = await startSlowReceiver(30_000);
    try {
      const endpoint = await createEndpoint(store, receiver.url);
      await createSubscription(store, endpoint.webhookId, {
        type: "asset-link",
        actions: ["create"],
        collectionId: SEED_COLLECTION,
      });
      child = await startHerald();
      const exited = exitOf(child);
      await publishTransaction();
      await receiver.firstRequest();

      let output = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.kill("SIGTERM");
      // The first signal is draining (its attempt is held): the second is sent once herald says so.
      await expect
        .poll(() => output, { timeout: 60_000, interval: 25 })
        .toContain("shutting down: finishing work in flight");
      expect(child.exitCode).toBeNull();
      child.kill("SIGTERM");
      const code = await exited;
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
      expect(receiver.answered).toHaveLength(0);
    } finally {
      await receiver.close();
    }
  });
});

describe("claims made while stopping", () => {
  it("are given back, not started: another process may take them at once", { timeout: 60_000 }, async () => {
    // The first attempt fails and its retry is due a few seconds later: time to lock the endpoint's row
    // while the event log moves on (an open transaction holds its readers back).
    const herald = await startTestHerald({ nats: false, env: { HERALD_RETRY_BASE_MS: "3000" } });
    const receiver = await startWebhookReceiver();
    receiver.script("/hook", [{ status: 500 }, { status: 200 }]);
    const locker = new pg.Client({ connectionString: herald.database.url });
    try {
      // A rate-limited endpoint: the worker takes its send slot from the endpoint's row of
      // delivery_send_rates, which this test holds locked, so the worker stands still between claiming
      // the retry and starting it.
      const endpoint = await createEndpoint(herald.herald.store, `${receiver.url}/hook`);
      await changeEndpoint(herald.herald.store, endpoint.webhookId, {
        type: "WebhookEndpointUpdated",
        data: { webhookId: endpoint.webhookId, rateLimit: 5 },
      });
      await createSubscription(herald.herald.store, endpoint.webhookId, {
        type: "asset-link",
        actions: ["create"],
        collectionId: SEED_COLLECTION,
      });
      await locker.connect();
      const until = (query: string) =>
        expect
          .poll(async () => (await locker.query(query, [endpoint.webhookId])).rows.length, {
            timeout: 20_000,
            interval: 25,
          })
          .toBeGreaterThan(0);
      await until("select 1 from delivery_endpoints where webhook_id = $1 and rate_limit = 5");
      const transaction = {
        status: "SUCCESS",
        signature: `0x${"5".repeat(64)}`,
        message: "",
        events: [{ type: "asset-link", action: "create", args: ["a"], collectionId: SEED_COLLECTION }],
      };
      const ingested = await fetch(`${herald.url}/v1/transactions`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_INGEST_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(transaction),
      });
      expect(ingested.status).toBe(202);
      await until(
        "select 1 from delivery_queue where webhook_id = $1 and attempts = 1 and step_revision = revision and due_at > now()",
      );
      await locker.query("begin");
      await locker.query("select 1 from delivery_send_rates where webhook_id = $1 for update", [endpoint.webhookId]);
      // Claimed at the retry's revision: the first attempt's lease was taken at an older one.
      await until(`
        select 1 from delivery_leases l join delivery_queue q on q.delivery_id = l.delivery_id
        where l.webhook_id = $1 and l.revision = q.revision and l.leased_until > now()`);

      // herald.stop() tells the worker to stop in the same tick as it closes the HTTP server: once
      // /healthz is refused, the worker is stopping while its claim waits on the lock.
      const stopped = herald.stop();
      await expect
        .poll(async () => (await fetch(`${herald.url}/healthz`).catch(() => undefined))?.status, { interval: 25 })
        .not.toBe(200);
      await locker.query("commit");
      await stopped;

      // The first attempt only: the claimed retry never started, and its lease is given back for another process.
      expect(receiver.requests).toHaveLength(1);
      const { rows } = await locker.query("select 1 from delivery_leases where webhook_id = $1", [endpoint.webhookId]);
      expect(rows).toEqual([]);
    } finally {
      await locker.end().catch(() => {});
      await receiver.close();
      await herald.cleanup();
    }
  });
});
