import pino from "pino";
import { expect, it } from "vitest";
import type { AnyProjection } from "../../src/projections/projection.js";
import { applyBatch, resetProjection } from "../../src/projections/projection-batch.js";
import { dispatcherProjection, readDispatcherSnapshot } from "../../src/reactions/dispatch-auditor.js";
import { useEventLogDatabase } from "../support/event-log-database.js";
import { rebuiltAlike } from "../support/rebuilt-alike.js";
import { storedEvents } from "../support/stored-events.js";
import { appendSubscriptionHistory } from "../support/subscription-history.js";

/**
 * The dispatcher folds a batch's subscription changes and writes them after it: its table and the
 * subscription set's revision must not depend on where batches end.
 */
const log = useEventLogDatabase();

const dispatcher = (): AnyProjection => dispatcherProjection({ store: log.store, logger: pino({ level: "silent" }) });

const tables = async () => ({
  subscriptions: await log.database.db
    .selectFrom("dispatcher_subscriptions")
    .selectAll()
    .orderBy("subscription_id")
    .execute(),
  set: await log.database.db.selectFrom("dispatcher_subscription_set").selectAll().execute(),
});

it("keeps the same subscriptions and subscription set revision whether their events come one per batch or many to a batch", async () => {
  const { created, alive, setRevision } = await appendSubscriptionHistory(log.store);

  const oneByOne = await rebuiltAlike(log, dispatcher(), tables);

  // What one event at a time means: deleted ones gone, the deleted endpoint's gone up to its deletion.
  const expected = created
    .filter((_, i) => alive[i])
    .map(({ subscriptionId, webhookId, type, actions, collectionId }) => ({
      subscription_id: subscriptionId,
      webhook_id: webhookId,
      type,
      actions,
      collection_id: collectionId,
    }))
    .sort((a, b) => (a.subscription_id < b.subscription_id ? -1 : 1));
  expect(oneByOne.subscriptions).toEqual(expected);
  expect(oneByOne.set).toEqual([{ id: true, revision: String(setRevision) }]);
  // …which is where a delivery directory starts from.
  const snapshot = await readDispatcherSnapshot(log.database.db);
  expect(snapshot.index.size).toBe(expected.length);
  expect(snapshot.version).toBe(setRevision);
});

it("writes actions as they are, quotes, commas, braces and backslashes included, in their order", async () => {
  const projection = dispatcher();
  await resetProjection(log.database.db, projection);
  const actions = ['say "hi"', "a,b", "{c}", "back\\slash", "NULL", "", "z", "a"];
  const stored = storedEvents();
  await applyBatch(log.database.db, projection, "start", [
    stored("subscription-s1", 0n, "WebhookSubscriptionCreated", {
      subscriptionId: "s1",
      webhookId: "w1",
      subscriber: "0xa",
      type: "asset-link",
      actions,
      collectionId: "c",
      createdAt: 0,
    }),
  ]);
  expect((await tables()).subscriptions).toEqual([
    { subscription_id: "s1", webhook_id: "w1", type: "asset-link", actions, collection_id: "c" },
  ]);
});
