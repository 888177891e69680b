import { jetstream } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { HeraldEventType } from "../../src/domain/herald-event.js";
import { type CrashWorld, closeCrashWorld, openCrashWorld } from "../support/crash-world.js";
import { SEED_COLLECTION } from "../support/fixtures.js";
import { eventsOfType, type HeraldChild, startHeraldChild } from "../support/herald-child.js";
import { createEndpoint, createSubscription } from "../support/webhooks.js";

const TRANSACTIONS = 2000;
/**
 * At-least-once across crashes: herald runs as a child process (SIGKILL needs one) and is killed
 * twice mid-run, without warning, then started again on the same database and NATS names.
 */
describe("delivery survives SIGKILL", () => {
  let world: CrashWorld;
  let child: HeraldChild | undefined;

  beforeAll(async () => {
    world = await openCrashWorld();
  });
  afterAll(async () => {
    await child?.kill();
    await closeCrashWorld(world);
  });

  const uniqueTransactions = () =>
    new Set(world.receiver.requests.map((request) => (JSON.parse(request.body) as { signature: string }).signature))
      .size;

  const receivedAtLeast = (count: number, timeout: number) =>
    expect.poll(uniqueTransactions, { timeout, interval: 25 }).toBeGreaterThanOrEqual(count);

  const all = (type: HeraldEventType) => eventsOfType(world.store, type);

  it(`delivers all ${TRANSACTIONS} transactions at least once and schedules none twice`, {
    timeout: 150_000,
  }, async () => {
    const endpoint = await createEndpoint(world.store, `${world.receiver.url}/hook`, 10);
    await createSubscription(world.store, endpoint.webhookId, {
      type: "asset-link",
      actions: ["create"],
      collectionId: SEED_COLLECTION,
    });
    child = await startHeraldChild(world.database.url, world.names);

    const js = jetstream(world.nc);
    const started = Date.now();
    const publishing = (async () => {
      for (let i = 0; i < TRANSACTIONS; i += 100) {
        await Promise.all(
          Array.from({ length: Math.min(100, TRANSACTIONS - i) }, (_, k) => {
            const n = i + k;
            const transaction = {
              status: "SUCCESS",
              signature: `0x${(n + 1).toString(16).padStart(64, "0")}`,
              message: "",
              events: [{ type: "asset-link", action: "create", args: [`n${n}`], collectionId: SEED_COLLECTION }],
            };
            return js.publish(world.names.txSubject, JSON.stringify(transaction), { msgID: `crash-${n}` });
          }),
        );
      }
    })();

    await receivedAtLeast(300, 60_000);
    await child.kill();
    const firstKillAt = uniqueTransactions();
    child = await startHeraldChild(world.database.url, world.names);
    await receivedAtLeast(firstKillAt + 500, 60_000);
    await child.kill();
    const secondKillAt = uniqueTransactions();
    child = await startHeraldChild(world.database.url, world.names);
    await publishing;
    await receivedAtLeast(TRANSACTIONS, 90_000);

    // Every delivery completes in the world.store too, each scheduled exactly once.
    const succeeded = await vi.waitFor(
      async () => {
        const events = await all("DeliverySucceeded");
        if (events.length < TRANSACTIONS) throw new Error(`${events.length} of ${TRANSACTIONS} deliveries succeeded`);
        return events;
      },
      { timeout: 30_000, interval: 250 },
    );
    const scheduled = await all("DeliveryScheduled");
    const attempted = await all("DeliveryAttempted");
    const received = await all("TransactionReceived");
    const durationS = (Date.now() - started) / 1000;
    process.stderr.write(
      `${JSON.stringify({ crash: { killedAtUnique: [firstKillAt, secondKillAt], requests: world.receiver.requests.length, unique: uniqueTransactions(), scheduled: scheduled.length, attempted: attempted.length, succeeded: succeeded.length, durationS } })}\n`,
    );
    expect(received).toHaveLength(TRANSACTIONS);
    expect(uniqueTransactions()).toBe(TRANSACTIONS);
    expect(scheduled).toHaveLength(TRANSACTIONS);
    expect(new Set(scheduled.map((event) => event.stream)).size).toBe(TRANSACTIONS);
    expect(succeeded).toHaveLength(TRANSACTIONS);
    expect(new Set(succeeded.map((event) => event.stream)).size).toBe(TRANSACTIONS);
    // Every recorded attempt reached the world.receiver; an attempt cut off by a kill reached it but went unrecorded.
    expect(attempted.length).toBeGreaterThanOrEqual(TRANSACTIONS);
    expect(world.receiver.requests.length).toBeGreaterThanOrEqual(attempted.length);
  });
});
