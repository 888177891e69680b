import { describe, expect, expectTypeOf, it } from "vitest";
import { DELIVERY_EVENT_TYPES, type DeliveryEvent } from "../../src/domain/delivery.js";
import { type DeliveryRecoveryRequested, RECOVERY_EVENT_TYPES } from "../../src/domain/delivery-recovery.js";
import {
  type HeraldEvent,
  isDeliveryEvent,
  isSubscriptionIndexEvent,
  isWebhookEndpointEvent,
  isWebhookSubscriptionEvent,
} from "../../src/domain/herald-event.js";
import { SUBSCRIPTION_INDEX_EVENT_TYPES, type SubscriptionIndexEvent } from "../../src/domain/subscription-matching.js";
import {
  WEBHOOK_ENDPOINT_EVENT_TYPES,
  WEBHOOK_SUBSCRIPTION_EVENT_TYPES,
  type WebhookEndpointEvent,
  type WebhookSubscriptionEvent,
} from "../../src/domain/webhook-events.js";

/** A list's types, checked by tsc: a type missing from a list would make its guard drop those events. */
type Listed<List extends readonly string[]> = List[number];

describe("event type lists and their guards", () => {
  it("each list names every event type of its union, once (the type check runs in tsc)", () => {
    expectTypeOf<Listed<typeof DELIVERY_EVENT_TYPES>>().toEqualTypeOf<DeliveryEvent["type"]>();
    expectTypeOf<Listed<typeof WEBHOOK_ENDPOINT_EVENT_TYPES>>().toEqualTypeOf<WebhookEndpointEvent["type"]>();
    expectTypeOf<Listed<typeof WEBHOOK_SUBSCRIPTION_EVENT_TYPES>>().toEqualTypeOf<WebhookSubscriptionEvent["type"]>();
    expectTypeOf<Listed<typeof SUBSCRIPTION_INDEX_EVENT_TYPES>>().toEqualTypeOf<SubscriptionIndexEvent["type"]>();
    expectTypeOf<Listed<typeof RECOVERY_EVENT_TYPES>>().toEqualTypeOf<DeliveryRecoveryRequested["type"]>();
    const lists = [
      DELIVERY_EVENT_TYPES,
      WEBHOOK_ENDPOINT_EVENT_TYPES,
      WEBHOOK_SUBSCRIPTION_EVENT_TYPES,
      SUBSCRIPTION_INDEX_EVENT_TYPES,
      RECOVERY_EVENT_TYPES,
    ];
    for (const list of lists) expect(new Set(list).size).toBe(list.length);
  });

  it("a guard takes exactly the events of its list", () => {
    const event = (type: HeraldEvent["type"]) => ({ type, data: {} }) as HeraldEvent;
    expect(isDeliveryEvent(event("DeliveryScheduled"))).toBe(true);
    expect(isDeliveryEvent(event("WebhookEndpointCreated"))).toBe(false);
    expect(isWebhookEndpointEvent(event("WebhookEndpointDisabled"))).toBe(true);
    expect(isWebhookEndpointEvent(event("WebhookSubscriptionCreated"))).toBe(false);
    expect(isWebhookSubscriptionEvent(event("WebhookSubscriptionDeleted"))).toBe(true);
    expect(isSubscriptionIndexEvent(event("WebhookEndpointDeleted"))).toBe(true);
    expect(isSubscriptionIndexEvent(event("WebhookEndpointUpdated"))).toBe(false);
  });
});
