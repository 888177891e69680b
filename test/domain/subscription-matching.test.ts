import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Transaction } from "../../src/domain/ingest-events.js";
import { type IndexedSubscription, SubscriptionIndex } from "../../src/domain/subscription-matching.js";
import { fixtureTransactions } from "../support/fixtures.js";

const COLLECTION = "1:evm:0x6bca6de2dbdc4e0d41f7273011785ea16ba47182";
const sub = (
  subscriptionId: string,
  webhookId: string,
  overrides: Partial<IndexedSubscription> = {},
): IndexedSubscription => ({
  subscriptionId,
  webhookId,
  type: "asset-link",
  actions: ["create", "delete"],
  collectionId: COLLECTION,
  ...overrides,
});

describe("subscription matching", () => {
  const [seed, twoEvents, mixed] = fixtureTransactions() as [Transaction, Transaction, Transaction];

  it("matches the seed's example on type, action and collection", () => {
    const index = new SubscriptionIndex();
    index.add(sub("s1", "w1"));
    index.add(sub("s2", "w2", { actions: ["create"] }));
    index.add(sub("s3", "w3", { type: "asset-ownership" }));
    index.add(sub("s4", "w4", { collectionId: "1:evm:0x1ea66a857de297471bc12dd12d93853ff6617284" }));
    expect(index.match(seed)).toEqual(new Map([["w1", ["s1"]]]));
  });

  it("delivers once per endpoint however many of its subscriptions and events match, ignoring hex case", () => {
    const index = new SubscriptionIndex();
    index.add(sub("s1", "w1"));
    index.add(sub("s2", "w1", { actions: ["create"], collectionId: COLLECTION.toUpperCase().replace("EVM", "evm") }));
    expect(index.match(twoEvents)).toEqual(new Map([["w1", ["s1", "s2"]]]));
  });

  it("matches only the event that fits in a mixed transaction", () => {
    const index = new SubscriptionIndex();
    index.add(
      sub("s1", "w1", {
        type: "asset-ownership",
        actions: ["transfer"],
        collectionId: "1:evm:0x1EA66A857DE297471BC12DD12D93853FF6617284",
      }),
    );
    index.add(
      sub("s2", "w2", { actions: ["update"], collectionId: "7668:root:0xaaaa000000000000000000000000000000000002" }),
    );
    expect(index.match(mixed)).toEqual(new Map([["w1", ["s1"]]]));
  });

  it("forgets removed subscriptions and treats re-adding as a no-op", () => {
    const index = new SubscriptionIndex();
    index.add(sub("s1", "w1"));
    index.add(sub("s1", "w1"));
    index.add(sub("s2", "w1", { actions: ["delete"] }));
    index.remove("s1");
    expect(index.match(seed)).toEqual(new Map([["w1", ["s2"]]]));
    index.remove("s2");
    index.remove("unknown");
    expect(index.match(seed).size).toBe(0);
    expect(index.size).toBe(0);
  });

  it("agrees with a plain scan of every subscription (property)", () => {
    const word = fc.constantFrom("a", "b", "c");
    const collection = fc.constantFrom("1:evm:0xAB", "1:evm:0xab", "2:evm:0xab", "1:evm:0xcd");
    const subscriptionArb = fc.record({
      webhookId: fc.constantFrom("w1", "w2", "w3"),
      type: word,
      actions: fc.uniqueArray(word, { minLength: 1 }),
      collectionId: collection,
    });
    const eventArb = fc.record({ type: word, action: word, collectionId: collection });
    fc.assert(
      fc.property(
        fc.array(subscriptionArb, { maxLength: 12 }),
        fc.array(fc.nat(11)),
        fc.array(eventArb, { maxLength: 5 }),
        (subs, removed, events) => {
          const index = new SubscriptionIndex();
          const live = new Map<string, IndexedSubscription>();
          subs.forEach((s, i) => {
            const full = { ...s, subscriptionId: `s${i}` };
            index.add(full);
            live.set(full.subscriptionId, full);
          });
          for (const i of removed) {
            index.remove(`s${i}`);
            live.delete(`s${i}`);
          }
          const expected = new Map<string, Set<string>>();
          for (const s of live.values()) {
            const hit = events.some(
              (e) =>
                e.type === s.type &&
                s.actions.includes(e.action) &&
                e.collectionId.toLowerCase() === s.collectionId.toLowerCase(),
            );
            if (hit) expected.set(s.webhookId, (expected.get(s.webhookId) ?? new Set()).add(s.subscriptionId));
          }
          const actual = index.match({ events: events.map((e) => ({ ...e, args: [] })) });
          expect(new Map([...actual].map(([w, ids]) => [w, new Set(ids)]))).toEqual(expected);
        },
      ),
      { numRuns: 1000 },
    );
  });

  // How matching cost scales is measured by `npm run bench -- matching`, not timed here.
  it("still finds exactly the matching endpoint among 100,000 unrelated subscriptions", () => {
    const index = new SubscriptionIndex();
    index.add(sub("s1", "w1"));
    for (let i = 0; i < 100_000; i++)
      index.add(sub(`x${i}`, `wx${i}`, { collectionId: `1:evm:0x${i.toString(16).padStart(40, "0")}` }));
    expect(index.match(seed)).toEqual(new Map([["w1", ["s1"]]]));
  });
});
