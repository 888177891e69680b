import type { StoredEvent } from "../../src/adapters/eventstore/event-store.js";
import type { Transaction } from "../../src/domain/ingest-events.js";
import { fixtureTransactions, SEED_COLLECTION } from "./fixtures.js";
import { storedEvents } from "./stored-events.js";

/**
 * What the dispatch auditor reads, as the log hands it back: subscriptions that match the seed's
 * first transaction (asset-link create or delete in SEED_COLLECTION), and that transaction received.
 */
export function dispatchEvents(): {
  subscription(subscriptionId: string, webhookId: string): StoredEvent;
  /** Received with `publishedText` when given, else as recorded before herald kept the text. */
  transaction(transactionId: string, publishedText?: string): StoredEvent;
} {
  const stored = storedEvents();
  const [transaction] = fixtureTransactions() as [Transaction];
  return {
    subscription: (subscriptionId, webhookId) =>
      stored(`subscription-${subscriptionId}`, 0n, "WebhookSubscriptionCreated", {
        subscriptionId,
        webhookId,
        subscriber: "0x1",
        type: "asset-link",
        actions: ["create", "delete"],
        collectionId: SEED_COLLECTION,
        createdAt: 0,
      }),
    transaction: (transactionId, publishedText) =>
      stored(`transaction-${transactionId}`, 0n, "TransactionReceived", {
        transactionId,
        transaction,
        ...(publishedText === undefined ? {} : { publishedText }),
        source: "nats",
        receivedAt: 0,
      }),
  };
}
