import { collectionKey } from "./collection-id.js";
import { getOrCreate } from "./get-or-create.js";
import type { Transaction } from "./ingest-events.js";
import type { WebhookEndpointDeleted, WebhookSubscriptionEvent } from "./webhook-events.js";

/** The events that change which subscriptions exist. */
export type SubscriptionIndexEvent = WebhookSubscriptionEvent | WebhookEndpointDeleted;

export const SUBSCRIPTION_INDEX_EVENT_TYPES = [
  "WebhookSubscriptionCreated",
  "WebhookSubscriptionDeleted",
  "WebhookEndpointDeleted",
] as const satisfies readonly SubscriptionIndexEvent["type"][];

/**
 * Which endpoints a transaction goes to. A transaction matches a subscription when one of its
 * events has the subscription's type, an action in its actions and its collection id (compared
 * case-insensitively). Subscriptions are indexed by (type, collection key) and then by action, so
 * matching costs one lookup per event of the transaction, whatever the number of subscriptions.
 */
export interface IndexedSubscription {
  readonly subscriptionId: string;
  readonly webhookId: string;
  readonly type: string;
  readonly actions: readonly string[];
  readonly collectionId: string;
}

export class SubscriptionIndex {
  /** (type, collection key) → action → webhookId → the subscriptions that put it there. */
  readonly #byKey = new Map<string, Map<string, Map<string, Set<string>>>>();
  readonly #byId = new Map<string, IndexedSubscription>();

  get size(): number {
    return this.#byId.size;
  }

  /** Adds or replaces a subscription; adding the same one twice changes nothing. */
  add(subscription: IndexedSubscription): void {
    this.remove(subscription.subscriptionId);
    this.#byId.set(subscription.subscriptionId, subscription);
    const key = indexKey(subscription.type, subscription.collectionId);
    const actions = getOrCreate(this.#byKey, key, () => new Map());
    for (const action of subscription.actions) {
      const webhooks = getOrCreate(actions, action, () => new Map());
      const ids = getOrCreate(webhooks, subscription.webhookId, () => new Set());
      ids.add(subscription.subscriptionId);
    }
  }

  /** Removing an unknown subscription changes nothing. */
  remove(subscriptionId: string): void {
    const subscription = this.#byId.get(subscriptionId);
    if (!subscription) return;
    this.#byId.delete(subscriptionId);
    const key = indexKey(subscription.type, subscription.collectionId);
    const actions = this.#byKey.get(key);
    if (!actions) return;
    for (const action of subscription.actions) {
      const webhooks = actions.get(action);
      const ids = webhooks?.get(subscription.webhookId);
      ids?.delete(subscriptionId);
      if (ids?.size === 0) webhooks?.delete(subscription.webhookId);
      if (webhooks?.size === 0) actions.delete(action);
    }
    if (actions.size === 0) this.#byKey.delete(key);
  }

  /** Applies one change of the subscription set; applying it again changes nothing. */
  apply(event: SubscriptionIndexEvent): void {
    switch (event.type) {
      case "WebhookSubscriptionCreated": {
        const { subscriptionId, webhookId, type, actions, collectionId } = event.data;
        this.add({ subscriptionId, webhookId, type, actions: [...actions], collectionId });
        return;
      }
      case "WebhookSubscriptionDeleted":
        this.remove(event.data.subscriptionId);
        return;
      case "WebhookEndpointDeleted":
        for (const subscription of this.subscriptionsOf(event.data.webhookId)) this.remove(subscription.subscriptionId);
        return;
    }
  }

  /** Every subscription of one endpoint, e.g. to drop them when it is deleted. */
  subscriptionsOf(webhookId: string): IndexedSubscription[] {
    return [...this.#byId.values()].filter((subscription) => subscription.webhookId === webhookId);
  }

  /**
   * The endpoints the transaction goes to, each once, with the subscriptions that matched it (for
   * the record). Order follows the transaction's events.
   */
  match(transaction: Pick<Transaction, "events">): Map<string, string[]> {
    const matched = new Map<string, Set<string>>();
    for (const event of transaction.events) {
      const webhooks = this.#byKey.get(indexKey(event.type, event.collectionId))?.get(event.action);
      if (!webhooks) continue;
      for (const [webhookId, subscriptionIds] of webhooks) {
        const ids = getOrCreate(matched, webhookId, () => new Set());
        for (const id of subscriptionIds) ids.add(id);
      }
    }
    return new Map([...matched].map(([webhookId, ids]) => [webhookId, [...ids].sort()]));
  }
}

function indexKey(type: string, collectionId: string): string {
  // NUL cannot occur in a type or a collection id that passed ingest, so keys never collide.
  return `${type}\u0000${collectionKey(collectionId)}`;
}
