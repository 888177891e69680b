import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { expect, it } from "vitest";
import type { ReadFrom, StoredEvent } from "../../src/adapters/eventstore/event-store.js";
import { endpointStream, type WebhookEndpointEvent } from "../../src/domain/webhook-events.js";
import { DELIVERY_QUEUE_CHANNEL, deliveryQueueProjection } from "../../src/projections/delivery-queue.js";
import type { AnyProjection } from "../../src/projections/projection.js";
import { applyBatch, resetProjection } from "../../src/projections/projection-batch.js";
import { useEventLogDatabase } from "../support/event-log-database.js";
import { appendInterleaved } from "../support/interleaved-appends.js";
import { rebuiltAlike } from "../support/rebuilt-alike.js";
import { storedEvents } from "../support/stored-events.js";

/**
 * The delivery queue folds a batch's endpoint events over the rows they touch and writes them after
 * it. Its conditional changes (paused only when active, active only when paused) must give the
 * same rows wherever batches end, as one statement per event did.
 */
const log = useEventLogDatabase();

const created = (webhookId: string, url = "https://a.example.com/hook"): WebhookEndpointEvent => ({
  type: "WebhookEndpointCreated",
  data: {
    webhookId,
    subscriber: "0xa",
    url,
    retries: 5,
    rateLimit: 10,
    apiKey: "v1.k",
    signingSecret: "v1.s",
    createdAt: 1_000,
  },
});

/** An endpoint's history, and the columns it leaves (undefined: no row). */
function endpointHistory(
  webhookId: string,
  variant: number,
): { events: WebhookEndpointEvent[]; row: Record<string, unknown> | undefined } {
  const data = { webhookId };
  const row = {
    webhook_id: webhookId,
    url: "https://a.example.com/hook",
    retries: 5,
    rate_limit: 10,
    api_key: "v1.k",
    signing_secret: "v1.s",
    status: "active",
  };
  const histories: { events: WebhookEndpointEvent[]; row: Record<string, unknown> | undefined }[] = [
    {
      events: [
        created(webhookId),
        { type: "WebhookEndpointPaused", data },
        { type: "WebhookEndpointResumed", data: { webhookId, at: 2_000 } },
        { type: "WebhookEndpointDeleted", data },
      ],
      row: { ...row, status: "deleted" },
    },
    {
      events: [
        created(webhookId),
        { type: "WebhookEndpointUpdated", data: { webhookId, url: "https://b.example.com/hook", rateLimit: null } },
        { type: "WebhookEndpointPaused", data },
        // Already paused: stays paused, and resuming makes it active.
        { type: "WebhookEndpointDisabled", data: { webhookId, reason: "gone", at: 2_000 } },
        { type: "WebhookEndpointResumed", data },
      ],
      row: { ...row, url: "https://b.example.com/hook", rate_limit: null },
    },
    {
      events: [
        created(webhookId),
        { type: "WebhookEndpointDisabled", data: { webhookId, reason: "failing_too_long", at: 2_000 } },
        { type: "WebhookEndpointPaused", data },
        { type: "WebhookEndpointApiKeyRotated", data: { webhookId, apiKey: "v1.k2", signingSecret: "v1.s2" } },
      ],
      row: { ...row, status: "paused", api_key: "v1.k2", signing_secret: "v1.s2" },
    },
    {
      // Deleted is for good: neither resuming nor pausing moves it.
      events: [
        created(webhookId),
        { type: "WebhookEndpointDeleted", data },
        { type: "WebhookEndpointResumed", data },
        { type: "WebhookEndpointPaused", data },
      ],
      row: { ...row, status: "deleted" },
    },
    {
      // Resuming an active endpoint changes nothing; an update without changes neither.
      events: [
        created(webhookId),
        { type: "WebhookEndpointResumed", data },
        { type: "WebhookEndpointUpdated", data: { webhookId, retries: 2 } },
        { type: "WebhookEndpointUpdated", data },
        { type: "WebhookEndpointFailing", data: { webhookId, since: 3_000 } },
        { type: "WebhookEndpointRecovered", data: { webhookId, at: 4_000 } },
      ],
      row: { ...row, retries: 2 },
    },
    {
      // A second creation leaves the first's row.
      events: [
        created(webhookId),
        created(webhookId, "https://c.example.com/hook"),
        { type: "WebhookEndpointPaused", data },
      ],
      row: { ...row, status: "paused" },
    },
    {
      // Events about an endpoint the queue never saw created write nothing.
      events: [
        { type: "WebhookEndpointPaused", data },
        { type: "WebhookEndpointUpdated", data: { webhookId, retries: 1 } },
      ],
      row: undefined,
    },
  ];
  return histories[variant % histories.length]!;
}

const readEndpoints = async (ids: readonly string[]) => {
  const rows = await log.database.db
    .selectFrom("delivery_endpoints")
    .selectAll()
    .where(sql<boolean>`webhook_id = any(${sql.val(ids)}::text[])`)
    .execute();
  return ids.map((id) => rows.find((row) => row.webhook_id === id));
};

it("gives every endpoint the same row whether its events come one per batch or many endpoints' to a batch", async () => {
  const ids = Array.from({ length: 14 }, () => randomUUID());
  const histories = ids.map((id, i) => endpointHistory(id, i));
  await appendInterleaved(
    log.store,
    histories.map(({ events }, i) => ({ stream: endpointStream(ids[i]!), events })),
  );

  const oneByOne = await rebuiltAlike(log, deliveryQueueProjection(), () => readEndpoints(ids));

  expect(oneByOne).toEqual(histories.map(({ row }) => row));
});

/** A queue of its own, fed batch after batch from a test (each `apply` is one batch). */
async function freshQueue(): Promise<(...events: StoredEvent[]) => Promise<void>> {
  const projection: AnyProjection = deliveryQueueProjection();
  await resetProjection(log.database.db, projection);
  let from: ReadFrom = "start";
  return async (...events) => {
    await applyBatch(log.database.db, projection, from, events);
    from = events.at(-1)!.position;
  };
}

it("notifies the workers after a batch that changed an endpoint's state, not after one that only updated it", async () => {
  const apply = await freshQueue();
  const webhookId = randomUUID();
  const stored = storedEvents();
  const stream = endpointStream(webhookId);
  const heard: string[] = [];
  const unlisten = await log.database.listen(DELIVERY_QUEUE_CHANNEL, (payload) => heard.push(payload));
  heard.length = 0;
  // Notifications arrive in commit order: a probe sent after a batch comes after any the batch sent.
  const heardUpTo = async (probe: string) => {
    await log.database.notify(DELIVERY_QUEUE_CHANNEL, probe);
    await expect.poll(() => heard.includes(probe)).toBe(true);
    return heard.splice(0);
  };
  try {
    await apply(
      stored(stream, 0n, "WebhookEndpointCreated", created(webhookId).data),
      stored(stream, 1n, "WebhookEndpointUpdated", { webhookId, retries: 3 }),
    );
    expect(await heardUpTo("after the update")).toEqual(["after the update"]);

    await apply(
      stored(stream, 2n, "WebhookEndpointPaused", { webhookId }),
      stored(stream, 3n, "WebhookEndpointResumed", { webhookId }),
    );
    expect(await heardUpTo("after the pause")).toEqual(["endpoints", "after the pause"]);
  } finally {
    await unlisten();
  }
});
