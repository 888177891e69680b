import { describe, expect, it } from "vitest";
import { DeliveryDirectory } from "../../src/app/delivery-directory.js";
import { SUBSCRIPTION_SET_STREAM } from "../../src/domain/webhook-events.js";
import { SEED_COLLECTION } from "../support/fixtures.js";
import { storedEvents } from "../support/stored-events.js";

const transaction = { events: [{ type: "asset-link", action: "create", collectionId: SEED_COLLECTION }] };
const stored = storedEvents();

const created = (subscriptionId: string, webhookId: string) =>
  stored(`subscription-${subscriptionId}`, 0n, "WebhookSubscriptionCreated", {
    subscriptionId,
    webhookId,
    subscriber: "0x",
    type: "asset-link",
    actions: ["create"],
    collectionId: SEED_COLLECTION,
    createdAt: 0,
  });
const marker = (revision: bigint) =>
  stored(SUBSCRIPTION_SET_STREAM, revision, "SubscriptionSetChanged", {
    cause: "WebhookSubscriptionCreated",
    webhookId: "w",
  });

describe("delivery directory", () => {
  it("applies subscription changes in order and reflects the subscription set's revision", () => {
    const directory = new DeliveryDirectory();
    expect(directory.version).toBe("no_stream");
    directory.handle([created("s1", "w1"), marker(0n), created("s2", "w2"), marker(1n)]);
    expect(directory.match(transaction)).toEqual(
      new Map([
        ["w1", ["s1"]],
        ["w2", ["s2"]],
      ]),
    );
    expect(directory.version).toBe(1n);
    directory.handle([stored("endpoint-w1", 3n, "WebhookEndpointDeleted", { webhookId: "w1" }), marker(2n)]);
    expect(directory.match(transaction)).toEqual(new Map([["w2", ["s2"]]]));
    expect(directory.version).toBe(2n);
  });

  it("ignores what it does not follow, even a SubscriptionSetChanged outside the subscription set's stream", () => {
    const directory = new DeliveryDirectory();
    directory.handle([
      stored("transaction-t", 0n, "TransactionReceived", {}),
      stored("elsewhere", 5n, "SubscriptionSetChanged", {}),
    ]);
    expect(directory.version).toBe("no_stream");
    expect(directory.match(transaction).size).toBe(0);
  });

  it("tells a waiter when it reached a revision, and says so when it did not in time", async () => {
    const directory = new DeliveryDirectory();
    const waiting = directory.reached(0n, 60_000);
    directory.handle([marker(0n)]);
    expect(await waiting).toBe(true);
    expect(await directory.reached("no_stream", 0)).toBe(true);
    expect(await directory.reached(7n, 10)).toBe(false);
  });
});
