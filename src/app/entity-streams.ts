import type { AnyEvent, EventStore, StoredEvent } from "../adapters/eventstore/event-store.js";
import { type DeliveryEvent, deliveryStream } from "../domain/delivery.js";
import { type DeliveryHistory, evolveDeliveryHistory } from "../domain/delivery-history.js";
import { type DeliveryAtRevision, evolveDeliveryAtRevision, noDeliveryYet } from "../domain/delivery-recovery.js";
import { isDeliveryEvent, isWebhookEndpointEvent, isWebhookSubscriptionEvent } from "../domain/herald-event.js";
import { evolveWebhookEndpoint, type WebhookEndpointState } from "../domain/webhook-endpoint.js";
import { endpointStream, subscriptionStream } from "../domain/webhook-events.js";
import { evolveWebhookSubscription, type WebhookSubscriptionState } from "../domain/webhook-subscription.js";

/**
 * An aggregate's state folded from its own stream with the domain's evolve: the source of truth for
 * decisions (never a read model that may lag) and, with `asOf`, for time travel.
 */

/** Milliseconds since the epoch; undefined means now. */
export type AsOf = number | undefined;

/**
 * The stream as it stood at `asOf`: its events up to the first one that happened later. A prefix
 * rather than a filter, because `metadata.at` comes from the clock of whichever process appended,
 * while revisions are the stream's real order; a prefix is always a state the stream passed through.
 */
export function eventsAsOf<E extends AnyEvent>(
  events: readonly StoredEvent<E>[],
  asOf: AsOf,
): readonly StoredEvent<E>[] {
  if (asOf === undefined) return events;
  const later = events.findIndex((event) => Date.parse(event.metadata.at) > asOf);
  return later === -1 ? events : events.slice(0, later);
}

/* The folds take their category's events: the streams hold nothing else (webhook-commands.ts writes them). */

export function foldWebhookEndpoint(events: readonly StoredEvent[]): WebhookEndpointState {
  return events.filter(isWebhookEndpointEvent).reduce(evolveWebhookEndpoint, undefined);
}

export function foldWebhookSubscription(events: readonly StoredEvent[]): WebhookSubscriptionState {
  return events.filter(isWebhookSubscriptionEvent).reduce(evolveWebhookSubscription, undefined);
}

export async function readWebhookEndpoint(
  store: EventStore,
  webhookId: string,
  asOf?: AsOf,
): Promise<WebhookEndpointState> {
  return foldWebhookEndpoint(eventsAsOf(await store.readStream(endpointStream(webhookId)), asOf));
}

export async function readWebhookSubscription(
  store: EventStore,
  subscriptionId: string,
  asOf?: AsOf,
): Promise<WebhookSubscriptionState> {
  return foldWebhookSubscription(eventsAsOf(await store.readStream(subscriptionStream(subscriptionId)), asOf));
}

export async function readDeliveryHistory(store: EventStore, deliveryId: string): Promise<DeliveryHistory | undefined> {
  return (await readDeliveryEvents(store, deliveryId)).reduce<DeliveryHistory | undefined>(
    evolveDeliveryHistory,
    undefined,
  );
}

export async function readDeliveryAtRevision(store: EventStore, deliveryId: string): Promise<DeliveryAtRevision> {
  return (await readDeliveryEvents(store, deliveryId)).reduce(evolveDeliveryAtRevision, noDeliveryYet);
}

async function readDeliveryEvents(store: EventStore, deliveryId: string): Promise<DeliveryEvent[]> {
  // The delivery stream only ever holds delivery events, written by the dispatcher, the worker and recovery.
  return (await store.readStream(deliveryStream(deliveryId))).filter(isDeliveryEvent);
}
