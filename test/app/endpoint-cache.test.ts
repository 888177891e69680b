import { afterAll, describe, expect, it } from "vitest";
import type { EventStore } from "../../src/adapters/eventstore/event-store.js";
import { LogPump } from "../../src/adapters/eventstore/log-pump.js";
import { EndpointCache } from "../../src/app/endpoint-cache.js";
import { createLogger } from "../../src/app/logger.js";
import { endpointStream } from "../../src/domain/webhook-events.js";
import { useEventLogDatabase } from "../support/event-log-database.js";
import { changeEndpoint, createEndpoint } from "../support/webhooks.js";

const logger = createLogger("silent");

/** The same store, counting its stream reads: the cache reads an endpoint's stream on a miss only. */
function countingStreamReads(store: EventStore): { readonly store: EventStore; streamReads(): number } {
  let reads = 0;
  const counted: EventStore = {
    ...store,
    readStream: (...args) => {
      reads++;
      return store.readStream(...args);
    },
  };
  return { store: counted, streamReads: () => reads };
}

describe("EndpointCache on the PostgreSQL event log", () => {
  const log = useEventLogDatabase();
  const pumps: LogPump[] = [];
  afterAll(async () => {
    await Promise.all(pumps.map((pump) => pump.stop()));
  });

  /** A cache following the log from the endpoint's last event (from the head when there is none). */
  async function follow(webhookId?: string) {
    const counted = countingStreamReads(log.store);
    const pump = new LogPump({ store: log.store, logger });
    pumps.push(pump);
    pump.start();
    // Not headPosition(): under the xmin rule it may lag behind an append other databases' transactions
    // overlap, and the endpoint's own creation would then reach the cache as a change.
    const from =
      (webhookId && (await log.store.readStream(endpointStream(webhookId))).at(-1)?.position) ||
      (await log.store.headPosition());
    const { cache } = EndpointCache.follow({ store: counted.store, pump, from });
    // Beside the cache on the same reader: what it has seen, the cache has been handed too.
    const seen: string[] = [];
    pump.register(
      { name: "observer", handle: async (page) => void seen.push(...page.events.map((e) => e.type)) },
      from,
    );
    return { cache, streamReads: counted.streamReads, seen };
  }

  it("reads an endpoint's stream once, however many batches ask for it", async () => {
    const endpoint = await createEndpoint(log.store, "http://127.0.0.1:1/once");
    const { cache, streamReads } = await follow(endpoint.webhookId);
    const [first, second] = await Promise.all([cache.get(endpoint.webhookId), cache.get(endpoint.webhookId)]);
    const third = await cache.get(endpoint.webhookId);
    expect(first).toMatchObject({ url: "http://127.0.0.1:1/once", retries: 5, rateLimit: null, status: "active" });
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    expect(streamReads()).toBe(1);
  });

  it("given a change to the endpoint, once the log reader brings it, then the next use reads the changed endpoint", async () => {
    const endpoint = await createEndpoint(log.store, "http://127.0.0.1:1/before");
    const { cache, streamReads, seen } = await follow(endpoint.webhookId);
    expect(await cache.get(endpoint.webhookId)).toMatchObject({ url: "http://127.0.0.1:1/before", status: "active" });

    await changeEndpoint(log.store, endpoint.webhookId, {
      type: "WebhookEndpointUpdated",
      data: { webhookId: endpoint.webhookId, url: "http://127.0.0.1:1/after" },
    });
    await changeEndpoint(log.store, endpoint.webhookId, {
      type: "WebhookEndpointPaused",
      data: { webhookId: endpoint.webhookId },
    });
    await expect.poll(() => seen).toEqual(["WebhookEndpointUpdated", "WebhookEndpointPaused"]);
    expect(await cache.get(endpoint.webhookId)).toMatchObject({ url: "http://127.0.0.1:1/after", status: "paused" });
    // Kept again once read: no read per use.
    expect(streamReads()).toBe(2);
    await cache.get(endpoint.webhookId);
    expect(streamReads()).toBe(2);
  });

  it("answers undefined for an endpoint that was never created", async () => {
    const { cache } = await follow();
    expect(await cache.get("00000000-0000-4000-8000-000000000000")).toBeUndefined();
  });
});
