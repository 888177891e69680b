import { DELIVERY_EVENT_TYPES, type DeliveryEvent } from "./delivery.js";
import type { DeliveryRecoveryRequested } from "./delivery-recovery.js";
import type { IngestEvent } from "./ingest-events.js";
import { SUBSCRIPTION_INDEX_EVENT_TYPES } from "./subscription-matching.js";
import {
  type SubscriptionSetChanged,
  WEBHOOK_ENDPOINT_EVENT_TYPES,
  WEBHOOK_SUBSCRIPTION_EVENT_TYPES,
  type WebhookEndpointEvent,
  type WebhookSubscriptionEvent,
} from "./webhook-events.js";

/**
 * Every event herald writes to its log, by stream category: `endpoint-`, `subscription-`,
 * `fence-subscriptions`, `delivery-`, `recovery-`, `transaction-`, `tenant-event-` and `rejected-`.
 * The log is written only through these types, so its readers take what they read back as one of them.
 */
export type HeraldEvent =
  | WebhookEndpointEvent
  | WebhookSubscriptionEvent
  | SubscriptionSetChanged
  | DeliveryEvent
  | DeliveryRecoveryRequested
  | IngestEvent;

export type HeraldEventType = HeraldEvent["type"];

/**
 * A type guard from a list of event types (a category's `…_EVENT_TYPES`, a reader's filter), so that
 * the list is the one place that says which events a reader takes.
 */
export function hasEventType<T extends string>(
  types: readonly T[],
): <E extends { readonly type: string }>(event: E) => event is Extract<E, { readonly type: T }> {
  const known = new Set<string>(types);
  return <E extends { readonly type: string }>(event: E): event is Extract<E, { readonly type: T }> =>
    known.has(event.type);
}

export const isWebhookEndpointEvent = hasEventType(WEBHOOK_ENDPOINT_EVENT_TYPES);
export const isWebhookSubscriptionEvent = hasEventType(WEBHOOK_SUBSCRIPTION_EVENT_TYPES);
export const isDeliveryEvent = hasEventType(DELIVERY_EVENT_TYPES);
export const isSubscriptionIndexEvent = hasEventType(SUBSCRIPTION_INDEX_EVENT_TYPES);
