import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { goodTransaction } from "../support/poison-messages.js";
import { type PostgresProxy, postgresProxy } from "../support/postgres-proxy.js";
import { NATS_URL } from "../support/services.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";
import { startTestHerald, type TestHerald } from "../support/test-herald.js";

describe("a NATS consumer that cannot append", () => {
  let proxy: PostgresProxy;
  let database: TestDatabase;
  let herald: TestHerald;
  let nc: NatsConnection;

  beforeAll(async () => {
    proxy = await postgresProxy();
    database = await createTestDatabase();
    herald = await startTestHerald({ env: { DATABASE_URL: proxy.url(database.url), HERALD_INGEST_STALL_S: "1" } });
    nc = await connect({ servers: NATS_URL });
  });
  afterAll(async () => {
    await nc?.close();
    await herald?.cleanup();
    proxy?.close();
    await database?.drop();
  });

  it("shows as stalled on /readyz and /metrics while messages wait, and stops without waiting for the store", {
    timeout: 90_000,
  }, async () => {
    const js = jetstream(nc);
    await js.publish(herald.nats!.txSubject, JSON.stringify(goodTransaction(1)), { msgID: "stall-1" });
    await expect
      .poll(
        async () =>
          (await herald.herald.store.readAll("start", { filter: { eventTypes: ["TransactionReceived"] } })).length,
      )
      .toBe(1);
    const metric = async () =>
      /herald_ingest_stalled\{consumer="transactions",stream="[^"]+"\} (\d)/.exec(
        await (await fetch(`${herald.url}/metrics`)).text(),
      )?.[1];
    expect(await metric()).toBe("0");

    proxy.down();
    await js.publish(herald.nats!.txSubject, JSON.stringify(goodTransaction(2)), { msgID: "stall-2" });
    const readyz = async () => {
      const response = await fetch(`${herald.url}/readyz`);
      return { status: response.status, failing: ((await response.json()) as { failing: string[] }).failing };
    };
    await expect
      .poll(async () => (await readyz()).failing, { timeout: 30_000, interval: 100 })
      .toContain("nats-ingest:transactions");
    const answer = await readyz();
    expect(answer.status).toBe(503);
    expect(answer.failing).not.toContain("nats-ingest:tenant-events");
    expect(await metric()).toBe("1");

    // With the store down the append retries for ever; stopping must not wait for it (nor for anything
    // else on the store). Before, this never returned; the bound is the test's timeout.
    await herald.stop();
  });
});
