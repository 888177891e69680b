import type { Kysely } from "kysely";
import type { HeraldTables } from "../adapters/db/schema.js";
import type { StoredEvent } from "../adapters/eventstore/event-store.js";
import type { LogPump } from "../adapters/eventstore/log-pump.js";
import { AppendSignal } from "../adapters/eventstore/postgres-event-store.js";
import { isSubscriptionIndexEvent } from "../domain/herald-event.js";
import type { Transaction } from "../domain/ingest-events.js";
import { SUBSCRIPTION_INDEX_EVENT_TYPES, SubscriptionIndex } from "../domain/subscription-matching.js";
import { SUBSCRIPTION_SET_STREAM } from "../domain/webhook-events.js";
import { readDispatcherSnapshot } from "../reactions/dispatch-auditor.js";

/** What the directory follows in the log. */
export const DELIVERY_DIRECTORY_EVENT_TYPES = [...SUBSCRIPTION_INDEX_EVENT_TYPES, "SubscriptionSetChanged"] as const;

type Version = bigint | "no_stream";

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
  stop(): void;
}

/**
 * Starts a directory from the dispatcher's table at its checkpoint (not from the whole log) and
 * follows the log from there through the process's log reader. While the reader is held up, ingest's
 * fence checks fail and wait, and the dispatch auditor schedules what ingest cannot: late, never lost.
 */
export async function startDeliveryDirectory(options: {
  readonly pump: LogPump;
  readonly db: Kysely<HeraldTables>;
}): Promise<RunningDeliveryDirectory> {
  const snapshot = await readDispatcherSnapshot(options.db);
  const directory = new DeliveryDirectory(snapshot.index, snapshot.version);
  const unregister = options.pump.register(
    {
      name: "delivery-directory",
      eventTypes: DELIVERY_DIRECTORY_EVENT_TYPES,
      handle: async (page) => directory.handle(page.events),
    },
    snapshot.position,
  );
  return { directory, stop: unregister };
}
