import { expect, it } from "vitest";
import {
  findWebhookSubscription,
  webhookSubscriptionsProjection,
} from "../../src/projections/webhook-subscriptions.js";
import { useEventLogDatabase } from "../support/event-log-database.js";
import { rebuiltAlike } from "../support/rebuilt-alike.js";
import { appendSubscriptionHistory } from "../support/subscription-history.js";

const log = useEventLogDatabase();

it("keeps the same subscriptions whether their events come one per batch or many to a batch", async () => {
  const { created, alive } = await appendSubscriptionHistory(log.store);
  const rows = async () =>
    Promise.all(created.map(({ subscriptionId }) => findWebhookSubscription(log.database.db, subscriptionId)));

  const oneByOne = await rebuiltAlike(log, webhookSubscriptionsProjection, rows);

  // What one event at a time means: deleted ones gone, the deleted endpoint's gone up to its deletion.
  expect(oneByOne.map((row) => row !== undefined)).toEqual(alive);
  expect(oneByOne[0]).toEqual({
    subscriptionId: created[0]!.subscriptionId,
    webhookId: created[0]!.webhookId,
    subscriber: "0xa",
    type: "asset-link",
    actions: ["create", "a0"],
    collectionId: "c0",
    createdAt: 1_000,
  });
});
