import { randomUUID } from "node:crypto";
import { eventMetadata } from "../../src/adapters/eventstore/event-metadata.js";
import type { EventStore, ReadFrom } from "../../src/adapters/eventstore/event-store.js";
import type { SubscriptionIndexEvent } from "../../src/domain/subscription-matching.js";
import {
  endpointStream,
  SUBSCRIPTION_SET_STREAM,
  subscriptionSetChange,
  subscriptionStream,
  type WebhookSubscriptionCreated,
} from "../../src/domain/webhook-events.js";
import { untilVisible } from "./until-visible.js";

export interface SubscriptionHistory {
  /** Each subscription as created, in the order of their creation. */
  readonly created: readonly WebhookSubscriptionCreated["data"][];
  /** Whether each of `created` is live at the end of the history, as one event at a time leaves it. */
  readonly alive: readonly boolean[];
  /** The revision of the last SubscriptionSetChanged. */
  readonly setRevision: bigint;
}

/**
 * Appends the changes of 20 subscriptions of 4 endpoints, each followed by its SubscriptionSetChanged
 * as webhook commands append them: created in turn, every third deleted right after its creation, and
 * the last endpoint deleted half way, with subscriptions of its created before and after that. Any
 * page of 7 or more events holds a subscription created and deleted, and pages of 1,000 an endpoint
 * deleted after subscriptions of it were created in the same page.
 */
export async function appendSubscriptionHistory(store: EventStore): Promise<SubscriptionHistory> {
  const webhooks = Array.from({ length: 4 }, () => randomUUID());
  const created = Array.from({ length: 20 }, (_, i) => ({
    subscriptionId: randomUUID(),
    webhookId: webhooks[i % webhooks.length]!,
    subscriber: "0xa",
    type: "asset-link",
    actions: ["create", `a${i}`],
    collectionId: `c${i}`,
    createdAt: 1_000 + i,
  }));
  let last: ReadFrom = "start";
  let setRevision = -1n;
  const append = async (
    stream: string,
    event: SubscriptionIndexEvent,
    expectedRevision: bigint | "no_stream" | "any",
  ) => {
    const metadata = eventMetadata("test");
    await store.append(stream, [{ ...event, metadata }], expectedRevision);
    const marker = subscriptionSetChange(event)!;
    last = (await store.append(SUBSCRIPTION_SET_STREAM, [{ ...marker, metadata }], "any")).position;
    setRevision++;
  };
  for (const [i, data] of created.entries()) {
    await append(subscriptionStream(data.subscriptionId), { type: "WebhookSubscriptionCreated", data }, "no_stream");
    if (i % 3 === 1) {
      const { subscriptionId, webhookId } = data;
      const deleted: SubscriptionIndexEvent = {
        type: "WebhookSubscriptionDeleted",
        data: { subscriptionId, webhookId },
      };
      await append(subscriptionStream(subscriptionId), deleted, 0n);
    }
    if (i === 10) {
      const deleted: SubscriptionIndexEvent = { type: "WebhookEndpointDeleted", data: { webhookId: webhooks[3]! } };
      await append(endpointStream(webhooks[3]!), deleted, "any");
    }
  }
  await untilVisible(store, last);
  const alive = created.map(({ webhookId }, i) => i % 3 !== 1 && !(webhookId === webhooks[3] && i <= 10));
  return { created, alive, setRevision };
}
