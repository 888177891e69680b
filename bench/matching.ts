/**
 * Subscription matching, the dispatcher's per-transaction cost: the (type, collection) → action index
 * (src/domain/subscription-matching.ts) against a linear scan over every subscription with the same
 * rule, measured in the same run, with 10 and with 100,000 subscriptions. Pure CPU, no I/O.
 */
import { collectionKey } from "../src/domain/collection-id.js";
import { getOrCreate } from "../src/domain/get-or-create.js";
import type { Transaction } from "../src/domain/ingest-events.js";
import { type IndexedSubscription, SubscriptionIndex } from "../src/domain/subscription-matching.js";
import { machine, progress, round } from "./bench-support.js";

const SIZES = [10, 100_000] as const;
const TYPES = ["asset-link", "asset-unlink", "asset-transfer", "asset-mint"];
const ACTIONS = ["create", "update", "delete"];
/** Each way matches for at least this long, so timer noise is small. */
const MIN_MS = 1500;
/** Distinct transactions matched round-robin. */
const SAMPLE = 10_000;

/** A deterministic pseudo-random stream, so that every run matches the same workload. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

const collection = (n: number) => `1:evm:0x${n.toString(16).padStart(40, "0")}`;

/** `count` subscriptions over count/4 collections (a few per collection, as real ones cluster). */
function subscriptions(count: number, next: () => number): IndexedSubscription[] {
  const collections = Math.max(1, Math.floor(count / 4));
  return Array.from({ length: count }, (_, i) => {
    const actions = ACTIONS.filter(() => next() < 0.5);
    const collectionId = collection(Math.floor(next() * collections));
    return {
      subscriptionId: `s${i}`,
      webhookId: `w${Math.floor(i / 2)}`,
      type: TYPES[Math.floor(next() * TYPES.length)]!,
      actions: actions.length > 0 ? actions : ["create"],
      // Mixed case on purpose: matching compares collection ids case-insensitively.
      collectionId: i % 3 === 0 ? collectionId.toUpperCase() : collectionId,
    };
  });
}

/** Transactions of 1–3 events; about half name a collection that has subscriptions. */
function transactions(count: number, collections: number, next: () => number): Pick<Transaction, "events">[] {
  return Array.from({ length: count }, () => ({
    events: Array.from({ length: 1 + Math.floor(next() * 3) }, () => ({
      type: TYPES[Math.floor(next() * TYPES.length)]!,
      action: ACTIONS[Math.floor(next() * ACTIONS.length)]!,
      args: [],
      collectionId: collection(Math.floor(next() * collections * 2)),
    })),
  }));
}

/** The baseline: every subscription tested against every event, same rule and same answer shape. */
function linearMatch(
  all: readonly IndexedSubscription[],
  transaction: Pick<Transaction, "events">,
): Map<string, string[]> {
  const matched = new Map<string, Set<string>>();
  for (const event of transaction.events) {
    const key = collectionKey(event.collectionId);
    for (const subscription of all) {
      if (
        subscription.type !== event.type ||
        !subscription.actions.includes(event.action) ||
        collectionKey(subscription.collectionId) !== key
      )
        continue;
      const ids = getOrCreate(matched, subscription.webhookId, () => new Set());
      ids.add(subscription.subscriptionId);
    }
  }
  return new Map([...matched].map(([webhookId, ids]) => [webhookId, [...ids].sort()]));
}

/** Transactions per second, matching round-robin over the sample for at least MIN_MS. */
function rate(
  label: string,
  sample: readonly Pick<Transaction, "events">[],
  match: (transaction: Pick<Transaction, "events">) => unknown,
): number {
  let done = 0;
  let sink = 0;
  const started = performance.now();
  let elapsed = 0;
  let tenths = -1;
  while (elapsed < MIN_MS) {
    for (let i = 0; i < 100; i++) if (match(sample[done++ % sample.length]!)) sink++;
    elapsed = performance.now() - started;
    // A line per tenth of the time, not per round of 100.
    const now = Math.min(10, Math.floor((elapsed / MIN_MS) * 10));
    if (now > tenths) {
      tenths = now;
      progress(label, tenths, 10);
    }
  }
  // Keeps the optimiser from dropping the work.
  if (sink < 0) throw new Error("unreachable");
  return done / (elapsed / 1000);
}

const same = (a: Map<string, string[]>, b: Map<string, string[]>) =>
  JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

export async function run(): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {};
  for (const size of SIZES) {
    const next = random(size);
    const all = subscriptions(size, next);
    const sample = transactions(SAMPLE, Math.max(1, Math.floor(size / 4)), next);

    const buildStarted = performance.now();
    const index = new SubscriptionIndex();
    for (const subscription of all) index.add(subscription);
    const buildMs = performance.now() - buildStarted;

    // Both ways must give the same answer, or the comparison means nothing.
    const checked = sample.slice(0, size > 1000 ? 100 : SAMPLE);
    const mismatches = checked.filter(
      (transaction) => !same(index.match(transaction), linearMatch(all, transaction)),
    ).length;
    const matchedShare = checked.filter((transaction) => index.match(transaction).size > 0).length / checked.length;

    const indexed = rate(`matching ${size}: index`, sample, (transaction) => index.match(transaction).size);
    const linear = rate(`matching ${size}: linear scan`, sample, (transaction) => linearMatch(all, transaction).size);
    results[`subscriptions${size}`] = {
      subscriptions: size,
      indexTransactionsPerSecond: round(indexed),
      indexMicrosecondsPerTransaction: round(1e6 / indexed, 3),
      linearScanTransactionsPerSecond: round(linear),
      linearScanMicrosecondsPerTransaction: round(1e6 / linear, 3),
      speedupOverLinearScan: round(indexed / linear, 1),
      indexBuildMs: round(buildMs),
      transactionsWithAMatch: round(matchedShare, 2),
      answersCompared: checked.length,
      mismatches,
    };
  }
  return { ...results, eventsPerTransaction: "1–3", machine: machine() };
}
