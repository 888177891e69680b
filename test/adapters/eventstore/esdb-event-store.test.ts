import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEsdbEventStore } from "../../../src/adapters/eventstore/esdb-event-store.js";
import type { AnyEvent, EventStore, StoredEvent } from "../../../src/adapters/eventstore/event-store.js";
import { type EsdbTestServer, startEsdbTestServer } from "../../support/esdb-test-server/index.js";
import { describeEventStoreContract } from "./event-store-contract.js";

describeEventStoreContract(
  "EventStoreDB (protocol test server)",
  async () => {
    const server = await startEsdbTestServer();
    const store = await createEsdbEventStore<AnyEvent>(server.url);
    return {
      store,
      async cleanup() {
        await store.close();
        await server.stop();
      },
    };
  },
  { orderingRuns: 1 },
);

const EVENTSTORE_URL = process.env.EVENTSTORE_URL ?? "";

describe.skipIf(EVENTSTORE_URL === "")(
  "real EventStoreDB (skipped unless EVENTSTORE_URL is set: esdb://127.0.0.1:2113?tls=false after docker compose up -d eventstore)",
  () => {
    describeEventStoreContract(
      "EventStoreDB (real server)",
      async () => {
        const store = await createEsdbEventStore<AnyEvent>(EVENTSTORE_URL);
        return { store, cleanup: () => store.close() };
      },
      { orderingRuns: 1 },
    );
  },
);

const metadata = { correlationId: "c-1", causationId: "c-1", actor: "test", at: "2026-11-24T00:00:00.000Z" };

describe("EventStoreDB adapter against the protocol test server", () => {
  let server: EsdbTestServer;
  let store: EventStore<AnyEvent>;
  const transientErrors: unknown[] = [];

  beforeAll(async () => {
    server = await startEsdbTestServer();
    store = await createEsdbEventStore<AnyEvent>(server.url, {
      onSubscriptionError: (error) => transientErrors.push(error),
    });
  });
  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });

  it("resubscribes after a server restart from the last received position: every event arrives exactly once, in order", async () => {
    const stream = `restart-${Date.now()}`;
    const write = async (from: number, count: number) => {
      for (let index = from; index < from + count; index++) {
        await store.append(stream, [{ type: "Counted", data: { index }, metadata }], "any");
      }
    };
    await write(0, 50);
    const startsBefore = server.subscriptionStarts.length;
    const subscription = store.subscribeAll("start", { filter: { streamPrefixes: [stream] } });
    const received: StoredEvent<AnyEvent>[] = [];
    const readUntil = async (count: number) => {
      while (received.length < count) received.push(...(await subscription.nextBatch(100)));
    };
    await readUntil(50); // caught up
    await write(50, 25);
    await readUntil(75); // live

    const errorsBefore = transientErrors.length;
    await server.stop();
    // While the server is down the subscription keeps retrying with backoff; appends fail fast.
    await expect(store.append(stream, [{ type: "Counted", data: { index: -1 }, metadata }], "any")).rejects.toThrow();
    await expect.poll(() => transientErrors.length).toBeGreaterThan(errorsBefore);
    await server.restart();

    await write(75, 25);
    await readUntil(100);
    await subscription.close();

    expect(received.map((event) => (event.data as { index: number }).index)).toEqual(
      Array.from({ length: 100 }, (_, i) => i),
    );
    expect(new Set(received.map((event) => event.id)).size).toBe(100);
    expect(transientErrors.length).toBeGreaterThan(0);
    // It resumed from where it was, not from the start (the adapter's duplicate guard is not what saved it).
    const starts = server.subscriptionStarts.slice(startsBefore);
    expect(starts[0]).toBe("start");
    expect(starts.length).toBeGreaterThan(1);
    expect(starts.at(-1)).toEqual(received[74]!.position);
  });

  it("works with servers that only offer Append (no BatchAppend)", async () => {
    const legacy = await startEsdbTestServer({ batchAppend: false });
    const legacyStore = await createEsdbEventStore<AnyEvent>(legacy.url);
    try {
      const stream = `legacy-${Date.now()}`;
      await legacyStore.append(stream, [{ type: "A", data: {}, metadata }], "no_stream");
      const error = await legacyStore
        .append(stream, [{ type: "A", data: {}, metadata }], "no_stream")
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "WRONG_EXPECTED_VERSION", actual: 0n });
      expect(await legacyStore.readStream(stream)).toHaveLength(1);
    } finally {
      await legacyStore.close();
      await legacy.stop();
    }
  });

  it("never returns the server's own system events", async () => {
    const all = await store.readAll("start", { maxCount: 10_000 });
    expect(all.some((event) => event.stream.startsWith("$") || event.type.startsWith("$"))).toBe(false);
    const head = await store.headPosition();
    const last = all.at(-1);
    expect(head).toEqual(last ? last.position : "start");
  });
});
