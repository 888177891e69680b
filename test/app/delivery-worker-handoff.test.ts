import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createSecretBox } from "../../src/adapters/crypto/secret-box.js";
import { AppendBatcher } from "../../src/adapters/eventstore/append-batcher.js";
import { eventMetadata } from "../../src/adapters/eventstore/event-metadata.js";
import type { EventStore, ReadFrom, StoredEvent } from "../../src/adapters/eventstore/event-store.js";
import { createWebhookSender } from "../../src/adapters/http/webhook-sender.js";
import { claimDeliveries } from "../../src/app/delivery-claims.js";
import {
  type DeliveryWorker,
  type HandOffCandidate,
  type HandOffReservation,
  startDeliveryWorker,
} from "../../src/app/delivery-worker.js";
import { type DeliveryLease, type DeliveryScheduled, deliveryStream } from "../../src/domain/delivery.js";
import { deliveryQueueProjection } from "../../src/projections/delivery-queue.js";
import type { AnyProjection } from "../../src/projections/projection.js";
import { applyBatch } from "../../src/projections/projection-batch.js";
import { useEventLogDatabase } from "../support/event-log-database.js";
import { TEST_ENCRYPTION_KEY } from "../support/test-herald.js";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";

/**
 * The hand-off from ingest to the worker (reserve → append → commit), against real PostgreSQL and a
 * real HTTP receiver: what gets a lease, what starts, and that a handed-off delivery is attempted
 * once, recorded at revision 0, and never claimed from the queue meanwhile.
 */
const log = useEventLogDatabase();
const box = createSecretBox(Buffer.from(TEST_ENCRYPTION_KEY, "base64"));
const TIMEOUT_MS = 2000;
const LEASE_MS = TIMEOUT_MS * 2 + 5000;

let receiver: WebhookReceiver;
let projection: AnyProjection;
const workers: DeliveryWorker[] = [];

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  projection = deliveryQueueProjection();
  await projection.setup(log.database.db);
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop()));
});
afterAll(async () => {
  await receiver?.close();
});

async function startWorker(caps: { workerConcurrency: number; endpointConcurrency: number }): Promise<DeliveryWorker> {
  const worker = await startDeliveryWorker({
    database: log.database,
    store: log.store,
    sender: createWebhookSender({ timeoutMs: TIMEOUT_MS, allowPrivateTargets: true, connectionsPerOrigin: 16 }),
    secretBox: box,
    logger: pino({ level: "silent" }),
    config: { deliveryTimeoutMs: TIMEOUT_MS, retryBaseMs: 60_000, retryMaxMs: 60_000, ...caps },
  });
  workers.push(worker);
  return worker;
}

type Endpoint = HandOffCandidate["endpoint"] & { readonly webhookId: string; readonly path: string };

function endpoint(overrides: Partial<Pick<Endpoint, "rateLimit" | "status">> = {}): Endpoint {
  const webhookId = randomUUID();
  const path = `/${webhookId}`;
  return {
    webhookId,
    path,
    url: `${receiver.url}${path}`,
    retries: 3,
    rateLimit: null,
    apiKey: box.seal("api-key"),
    signingSecret: box.seal(`whsec_${Buffer.alloc(24, 1).toString("base64")}`),
    status: "active",
    ...overrides,
  };
}

function candidate(to: Endpoint): HandOffCandidate {
  const { webhookId, path: _, ...snapshot } = to;
  const deliveryId = randomUUID();
  return {
    deliveryId,
    webhookId,
    payload: JSON.stringify({ deliveryId }),
    correlationId: randomUUID(),
    endpoint: snapshot,
  };
}

/** What ingest appends for a candidate: its DeliveryScheduled, carrying the lease when it got one. */
async function schedule(delivery: HandOffCandidate, lease: DeliveryLease | undefined): Promise<void> {
  const data: DeliveryScheduled["data"] = {
    deliveryId: delivery.deliveryId,
    webhookId: delivery.webhookId,
    transactionId: randomUUID(),
    subscriptionIds: [],
    transaction: JSON.parse(delivery.payload),
    publishedText: delivery.payload,
    scheduledAt: Date.now(),
    ...(lease === undefined ? {} : { lease }),
  };
  const metadata = eventMetadata("system:ingest", { correlationId: delivery.correlationId });
  await log.store.append(
    deliveryStream(delivery.deliveryId),
    [{ type: "DeliveryScheduled", data, metadata }],
    "no_stream",
  );
}

const leased = (reservation: HandOffReservation) => [...reservation.leases.keys()];
const eventTypes = async (deliveryId: string) =>
  (await log.store.readStream(deliveryStream(deliveryId))).map((event) => `${event.revision}:${event.type}`);

describe("reserve", () => {
  it("leases only active endpoints without a rate limit, within the worker's and each endpoint's cap", async () => {
    const worker = await startWorker({ workerConcurrency: 3, endpointConcurrency: 2 });
    const [a, b] = [endpoint(), endpoint()];
    const [a1, a2, a3] = [candidate(a), candidate(a), candidate(a)];
    const limited = candidate(endpoint({ rateLimit: 5 }));
    const paused = candidate(endpoint({ status: "paused" }));
    const deleted = candidate(endpoint({ status: "deleted" }));
    const [b1, b2] = [candidate(b), candidate(b)];

    const before = Date.now();
    const first = worker.reserve([a1, a2, a3, limited, paused, deleted, b1, b2]);
    expect(leased(first)).toEqual([a1.deliveryId, a2.deliveryId, b1.deliveryId]);
    for (const lease of first.leases.values()) {
      expect(lease.until).toBeGreaterThanOrEqual(before + LEASE_MS);
      expect(lease.until).toBeLessThanOrEqual(Date.now() + LEASE_MS);
    }
    expect(new Set([...first.leases.values()].map((lease) => lease.worker)).size).toBe(1);

    // Every slot is reserved: nothing more until they are given back.
    expect(leased(worker.reserve([candidate(endpoint())]))).toEqual([]);
    first.cancel();
    const again = [candidate(a), candidate(a), candidate(b)];
    const second = worker.reserve(again);
    expect(leased(second)).toEqual(again.map((delivery) => delivery.deliveryId));
    second.cancel();
  });

  it("commit starts only the written deliveries, at revision 0, and frees the others' slots", async () => {
    const worker = await startWorker({ workerConcurrency: 2, endpointConcurrency: 2 });
    const slow = endpoint();
    receiver.script(slow.path, [{ hang: true, status: 200 }]);
    const [written, refused] = [candidate(slow), candidate(slow)];
    const reservation = worker.reserve([written, refused]);
    expect(leased(reservation)).toHaveLength(2);
    await schedule(written, reservation.leases.get(written.deliveryId));
    reservation.commit(new Set([written.deliveryId]));

    // The written one is in flight (its receiver never answers) and holds its slot; the other's is free.
    const [request] = await receiver.waitFor(1, slow.path);
    expect(request?.headers["webhook-id"]).toBe(written.deliveryId);
    const next = [candidate(endpoint()), candidate(endpoint())];
    const held = worker.reserve(next);
    expect(leased(held)).toEqual([next[0]?.deliveryId]);
    held.cancel();

    // The attempt times out and is recorded on the written stream, after its DeliveryScheduled.
    await expect
      .poll(() => eventTypes(written.deliveryId), { timeout: TIMEOUT_MS * 3 })
      .toEqual(["0:DeliveryScheduled", "1:DeliveryAttempted", "2:DeliveryRetryScheduled"]);
    expect(receiver.on(slow.path)).toHaveLength(1);
    expect(await eventTypes(refused.deliveryId)).toEqual([]);
  });

  it("counts other workers' live leases against the endpoint's cap, from a cache it refreshes itself", async () => {
    const worker = await startWorker({ workerConcurrency: 10, endpointConcurrency: 2 });
    const busy = endpoint();
    for (let i = 0; i < 2; i++) {
      const deliveryId = randomUUID();
      await sql`
        insert into delivery_queue (delivery_id, webhook_id, payload, correlation_id, state, attempts, revision, step_revision, due_at)
        values (${deliveryId}, ${busy.webhookId}, '{}', 'c', 'pending', 0, 0, 0, now())`.execute(log.database.db);
      await sql`
        insert into delivery_leases (delivery_id, leased_by, leased_until, revision, webhook_id)
        values (${deliveryId}, 'another-process', now() + ${LEASE_MS} * interval '1 millisecond', 0, ${busy.webhookId})`.execute(
        log.database.db,
      );
    }
    const tryOne = () => {
      const reservation = worker.reserve([candidate(busy)]);
      reservation.cancel();
      return reservation.leases.size;
    };
    await expect.poll(tryOne).toBe(0);
    await sql`delete from delivery_queue where webhook_id = ${busy.webhookId}`.execute(log.database.db);
    await expect.poll(tryOne).toBe(1);
  });
});

describe("a handed-off delivery", () => {
  it("is POSTed once and recorded at revision 0; its queue row is leased until the outcome, then gone", async () => {
    const worker = await startWorker({ workerConcurrency: 4, endpointConcurrency: 2 });
    const target = endpoint();
    const delivery = candidate(target);
    const reservation = worker.reserve([delivery]);
    const lease = reservation.leases.get(delivery.deliveryId);
    expect(lease).toBeDefined();
    await schedule(delivery, lease);

    // The queue projection sees the DeliveryScheduled before the outcome: the row is claimed already.
    let from: ReadFrom = "start";
    /**
     * Applies the log up to the delivery's event of `type`. readAll shows an append once no older
     * transaction runs anywhere on the server, which other tests' transactions may put off a while.
     */
    const projectUpTo = async (type: string) => {
      let events: StoredEvent[] = [];
      await expect
        .poll(
          async () => {
            events = await log.store.readAll(from, { filter: { eventTypes: projection.eventTypes }, maxCount: 1000 });
            return events
              .filter((event) => event.stream === deliveryStream(delivery.deliveryId))
              .map((event) => event.type);
          },
          { timeout: 15_000 },
        )
        .toContain(type);
      await applyBatch(log.database.db, projection, from, events);
      from = events.at(-1)?.position ?? from;
    };
    await projectUpTo("DeliveryScheduled");
    const row = await log.database.db
      .selectFrom("delivery_queue" as never)
      .select(["handoff_by", "handoff_until"] as never[])
      .where("delivery_id" as never, "=", delivery.deliveryId as never)
      .executeTakeFirstOrThrow();
    // Leased to the worker that took it, for at least the lease it was handed (the queue may extend it: delivery-queue.ts).
    expect(row).toMatchObject({ handoff_by: lease?.worker });
    expect((row as { handoff_until: Date }).handoff_until.getTime()).toBeGreaterThanOrEqual(
      lease?.until ?? Number.POSITIVE_INFINITY,
    );
    expect(
      await claimDeliveries(log.database.db, {
        limit: 100,
        leaseMs: 60_000,
        skipWebhooks: [],
        worker: "another-process",
      }),
    ).toEqual([]);

    reservation.commit(new Set([delivery.deliveryId]));
    await expect
      .poll(() => eventTypes(delivery.deliveryId))
      .toEqual(["0:DeliveryScheduled", "1:DeliveryAttempted", "2:DeliverySucceeded"]);
    const requests = receiver.on(target.path);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.body).toBe(delivery.payload);

    await projectUpTo("DeliverySucceeded");
    const left = await sql`select 1 from delivery_queue where delivery_id = ${delivery.deliveryId}`.execute(
      log.database.db,
    );
    expect(left.rows).toEqual([]);
  });

  it("whose append commits while the worker stops is still attempted and recorded before stop returns", async () => {
    const worker = await startWorker({ workerConcurrency: 4, endpointConcurrency: 2 });
    const target = endpoint();
    const delivery = candidate(target);
    const reservation = worker.reserve([delivery]);
    workers.splice(workers.indexOf(worker), 1);
    const stopped = worker.stop();
    // Ingest's append is still running when the process is told to stop.
    await schedule(delivery, reservation.leases.get(delivery.deliveryId));
    reservation.commit(new Set([delivery.deliveryId]));
    await stopped;
    expect(await eventTypes(delivery.deliveryId)).toEqual([
      "0:DeliveryScheduled",
      "1:DeliveryAttempted",
      "2:DeliverySucceeded",
    ]);
    expect(receiver.on(target.path)).toHaveLength(1);
    // Stopped: no more hand-offs.
    expect(worker.reserve([candidate(endpoint())]).leases.size).toBe(0);
  });
});

describe("a worker given the process's batcher", () => {
  it("records its attempts through that batcher, not one of its own", async () => {
    const streams: string[] = [];
    const counted: EventStore = {
      ...log.store,
      appendMany: (requests, options) => {
        streams.push(...requests.map((request) => request.stream));
        return log.store.appendMany(requests, options);
      },
    };
    const worker = await startDeliveryWorker({
      database: log.database,
      store: log.store,
      appends: new AppendBatcher(counted),
      sender: createWebhookSender({ timeoutMs: TIMEOUT_MS, allowPrivateTargets: true, connectionsPerOrigin: 16 }),
      secretBox: box,
      logger: pino({ level: "silent" }),
      config: {
        deliveryTimeoutMs: TIMEOUT_MS,
        retryBaseMs: 60_000,
        retryMaxMs: 60_000,
        workerConcurrency: 2,
        endpointConcurrency: 2,
      },
    });
    workers.push(worker);
    const delivery = candidate(endpoint());
    const reservation = worker.reserve([delivery]);
    await schedule(delivery, reservation.leases.get(delivery.deliveryId));
    reservation.commit(new Set([delivery.deliveryId]));
    await expect.poll(() => streams, { timeout: TIMEOUT_MS * 3 }).toContain(deliveryStream(delivery.deliveryId));
    expect((await eventTypes(delivery.deliveryId)).slice(0, 2)).toEqual(["0:DeliveryScheduled", "1:DeliveryAttempted"]);
  });
});
