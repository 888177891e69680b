import { setTimeout as sleep } from "node:timers/promises";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { HeraldTables } from "../adapters/db/schema.js";
import type { EventStore, ReadFrom, StoredEvent, Subscription } from "../adapters/eventstore/event-store.js";
import { AppendSignal } from "../adapters/eventstore/postgres-event-store.js";
import { isSubscriptionIndexEvent } from "../domain/herald-event.js";
import type { Transaction } from "../domain/ingest-events.js";
import { SUBSCRIPTION_INDEX_EVENT_TYPES, SubscriptionIndex } from "../domain/subscription-matching.js";
import { SUBSCRIPTION_SET_STREAM } from "../domain/webhook-events.js";
import { readDispatcherSnapshot } from "../reactions/dispatch-auditor.js";

/** What the directory follows in the log. */
export const DELIVERY_DIRECTORY_EVENT_TYPES = [...SUBSCRIPTION_INDEX_EVENT_TYPES, "SubscriptionSetChanged"] as const;

type Version = bigint | "no_stream";

const RESUBSCRIBE_MS = 1000;

/**
 * This process's copy of the live subscriptions, for scheduling at ingest, and the revision of the
 * fence-subscriptions stream it reflects (the fence ingest appends under). Every process keeps one,
 * standby or not: whoever ingests matches in memory.
 */
export class DeliveryDirectory {
  #index: SubscriptionIndex;
  #version: Version;
  /** Notified whenever the version moves, for reached(). */
  readonly #moved = new AppendSignal();

  constructor(index = new SubscriptionIndex(), version: Version = "no_stream") {
    this.#index = index;
    this.#version = version;
  }

  /** The revision of the last SubscriptionSetChanged applied; "no_stream" before any. */
  get version(): Version {
    return this.#version;
  }

  /** The endpoints a transaction goes to, with the subscriptions that matched (see SubscriptionIndex). */
  match(transaction: Pick<Transaction, "events">): Map<string, string[]> {
    return this.#index.match(transaction);
  }

  /** Applies events in log order; events of other types are ignored (the input may be a shared log reader's). */
  handle(events: readonly StoredEvent[]): void {
    let moved = false;
    for (const event of events) {
      if (event.type === "SubscriptionSetChanged" && event.stream === SUBSCRIPTION_SET_STREAM) {
        this.#version = event.revision;
        moved = true;
      } else if (isSubscriptionIndexEvent(event)) {
        this.#index.apply(event);
      }
    }
    if (moved) this.#moved.notify();
  }

  /** Resolves true once the directory reflects `revision` (or later), false after `timeoutMs`. */
  async reached(revision: Version, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!atLeast(this.#version, revision)) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.#moved.wait(left);
    }
    return true;
  }
}

function atLeast(version: Version, revision: Version): boolean {
  if (revision === "no_stream") return true;
  return version !== "no_stream" && version >= revision;
}

export interface RunningDeliveryDirectory {
  readonly directory: DeliveryDirectory;
  stop(): Promise<void>;
}

/**
 * Starts a directory from the dispatcher's table at its checkpoint (not from the whole log) and
 * follows the log from there on its own subscription.
 */
export async function startDeliveryDirectory(options: {
  readonly store: EventStore;
  readonly db: Kysely<HeraldTables>;
  readonly logger: Logger;
}): Promise<RunningDeliveryDirectory> {
  const { store, logger } = options;
  const snapshot = await readDispatcherSnapshot(options.db);
  const directory = new DeliveryDirectory(snapshot.index, snapshot.version);
  let position: ReadFrom = snapshot.position;
  let subscription: Subscription | undefined;
  let stopping = false;
  const stopped = new AbortController();
  const loop = (async () => {
    while (!stopping) {
      subscription = store.subscribeAll(position, { filter: { eventTypes: DELIVERY_DIRECTORY_EVENT_TYPES } });
      try {
        for (;;) {
          const page = await subscription.nextPage(500);
          directory.handle(page.events);
          position = page.position;
        }
      } catch (error) {
        if (stopping) return;
        // Meanwhile ingest's fence checks fail and wait, and the dispatch auditor schedules what
        // ingest cannot: late, never lost.
        logger.error({ err: error }, "delivery directory lost the log; following it again shortly");
        await subscription.close().catch(() => {});
        await sleep(RESUBSCRIBE_MS, undefined, { signal: stopped.signal }).catch(() => {});
      }
    }
  })();
  return {
    directory,
    async stop() {
      stopping = true;
      stopped.abort();
      await subscription?.close();
      await loop;
    },
  };
}
