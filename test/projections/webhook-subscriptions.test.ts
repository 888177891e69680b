import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { eventMetadata } from "../../src/adapters/eventstore/event-metadata.js";
import type { AppendRequest, ReadFrom } from "../../src/adapters/eventstore/event-store.js";
import {
  endpointStream,
  subscriptionStream,
  type WebhookEndpointEvent,
  type WebhookSubscriptionEvent,
} from "../../src/domain/webhook-events.js";
import {
  findWebhookSubscription,
  webhookSubscriptionsProjection,
} from "../../src/projections/webhook-subscriptions.js";
import { useEventLogDatabase } from "../support/event-log-database.js";
import { rebuiltAlike } from "../support/rebuilt-alike.js";
import { untilVisible } from "../support/until-visible.js";

const log = useEventLogDatabase();

it("keeps the same subscriptions whether their events come one per batch or many to a batch", async () => {
  const webhooks = Array.from({ length: 4 }, () => randomUUID());
  const subscriptions = Array.from({ length: 20 }, (_, i) => ({
    id: randomUUID(),
    webhookId: webhooks[i % webhooks.length]!,
  }));
  const created = (i: number): WebhookSubscriptionEvent => ({
    type: "WebhookSubscriptionCreated",
    data: {
      subscriptionId: subscriptions[i]!.id,
      webhookId: subscriptions[i]!.webhookId,
      subscriber: "0xa",
      type: "asset-link",
      actions: ["create", `a${i}`],
      collectionId: `c${i}`,
      createdAt: 1_000 + i,
    },
  });
  const metadata = eventMetadata("test");
  // Created in turn; every third deleted again; the last endpoint deleted half way, with subscriptions created after it.
  const appends: AppendRequest[] = [];
  for (const [i, { id, webhookId }] of subscriptions.entries()) {
    appends.push({
      stream: subscriptionStream(id),
      events: [{ ...created(i), metadata }],
      expectedRevision: "no_stream",
    });
    if (i % 3 === 1)
      appends.push({
        stream: subscriptionStream(id),
        events: [{ type: "WebhookSubscriptionDeleted", data: { subscriptionId: id, webhookId }, metadata }],
        expectedRevision: 0n,
      });
    if (i === 10) {
      const deleted: WebhookEndpointEvent = { type: "WebhookEndpointDeleted", data: { webhookId: webhooks[3]! } };
      appends.push({
        stream: endpointStream(webhooks[3]!),
        events: [{ ...deleted, metadata }],
        expectedRevision: "any",
      });
    }
  }
  let last: ReadFrom = "start";
  for (const request of appends)
    last = (await log.store.append(request.stream, request.events, request.expectedRevision)).position;
  await untilVisible(log.store, last);
  const rows = async () => Promise.all(subscriptions.map(({ id }) => findWebhookSubscription(log.database.db, id)));

  const oneByOne = await rebuiltAlike(log, webhookSubscriptionsProjection, rows);

  // What one event at a time means: deleted ones gone, the deleted endpoint's gone up to its deletion.
  const alive = subscriptions.map(({ webhookId }, i) => i % 3 !== 1 && !(webhookId === webhooks[3] && i <= 10));
  expect(oneByOne.map((row) => row !== undefined)).toEqual(alive);
  expect(oneByOne[0]).toEqual({
    subscriptionId: subscriptions[0]!.id,
    webhookId: webhooks[0],
    subscriber: "0xa",
    type: "asset-link",
    actions: ["create", "a0"],
    collectionId: "c0",
    createdAt: 1_000,
  });
});
