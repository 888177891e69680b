import { randomBytes, randomUUID } from "node:crypto";
import { createSecretBox } from "../../src/adapters/crypto/secret-box.js";
import { eventMetadata } from "../../src/adapters/eventstore/event-metadata.js";
import type { EventStore } from "../../src/adapters/eventstore/event-store.js";
import {
  endpointStream,
  SUBSCRIPTION_SET_STREAM,
  subscriptionSetChange,
  subscriptionStream,
  type WebhookEndpointEvent,
  type WebhookSubscriptionCreated,
} from "../../src/domain/webhook-events.js";
import { TEST_ENCRYPTION_KEY } from "./test-herald.js";

/**
 * Endpoints and subscriptions made the way the GraphQL API makes them: by appending their domain
 * events (webhook-events.ts, secrets sealed) through the event store's port, subscription changes
 * with their SubscriptionSetChanged marker under the subscription set's fence.
 */
export interface TestEndpoint {
  readonly webhookId: string;
  readonly apiKey: string;
  readonly signingSecret: string;
}

const box = createSecretBox(Buffer.from(TEST_ENCRYPTION_KEY, "base64"));
const SUBSCRIBER = "0x1Ea66A857De297471bc12dD12D93853fF6617284";

export async function createEndpoint(store: EventStore, url: string, retries = 5): Promise<TestEndpoint> {
  const webhookId = randomUUID();
  const apiKey = randomBytes(24).toString("base64url");
  const signingSecret = `whsec_${randomBytes(24).toString("base64")}`;
  await store.append(
    endpointStream(webhookId),
    [
      {
        type: "WebhookEndpointCreated",
        data: {
          webhookId,
          subscriber: SUBSCRIBER,
          url,
          retries,
          apiKey: box.seal(apiKey),
          signingSecret: box.seal(signingSecret),
          createdAt: Date.now(),
        },
        metadata: eventMetadata(SUBSCRIBER),
      },
    ],
    "no_stream",
  );
  return { webhookId, apiKey, signingSecret };
}

export async function changeEndpoint(
  store: EventStore,
  webhookId: string,
  event: Exclude<WebhookEndpointEvent, { type: "WebhookEndpointCreated" }>,
) {
  return store.append(endpointStream(webhookId), [{ ...event, metadata: eventMetadata(SUBSCRIBER) }], "stream_exists");
}

export async function createSubscription(
  store: EventStore,
  webhookId: string,
  match: Pick<WebhookSubscriptionCreated["data"], "type" | "actions" | "collectionId">,
): Promise<string> {
  const subscriptionId = randomUUID();
  const data: WebhookSubscriptionCreated["data"] = {
    subscriptionId,
    webhookId,
    subscriber: SUBSCRIBER,
    ...match,
    createdAt: Date.now(),
  };
  const created = { type: "WebhookSubscriptionCreated" as const, data };
  const marker = subscriptionSetChange(created)!;
  const [outcome] = await store.appendMany(
    [
      {
        stream: subscriptionStream(subscriptionId),
        expectedRevision: "no_stream",
        events: [{ ...created, metadata: eventMetadata(SUBSCRIBER) }],
      },
      {
        stream: SUBSCRIPTION_SET_STREAM,
        expectedRevision: "any",
        events: [{ ...marker, metadata: eventMetadata(SUBSCRIBER) }],
      },
    ],
    { fence: { stream: SUBSCRIPTION_SET_STREAM } },
  );
  if (!outcome?.ok) throw new Error(`could not create subscription ${subscriptionId}`);
  return subscriptionId;
}
