import type { Logger } from "pino";
import { type EventStore, type ReadFrom, type StoredEvent, type Subscription, SubscriptionClosedError } from "../../adapters/eventstore/event-store.js";
import { comparePositions } from "../../adapters/eventstore/position.js";
import type { TenantEventReceived } from "../../domain/ingest-events.js";
import { eventAnswersWait, eventInScope, waitKeyOfEvent, waitKeyOfWait } from "../../domain/waypoint-matching.js";
import { RecentTenantEvents } from "./recent-tenant-events.js";
import type { SeenTenantEvent, Waiter } from "./waiter.js";
import { WaiterIndex } from "./waiter-index.js";

const TENANT_EVENTS = { eventTypes: ["TenantEventReceived"] } as const;
const PAGE = 1000;
/** Bounds the look_back window's memory whatever the event rate (the age bound is HERALD_SSE_MAX_LOOK_BACK_S). */
const WINDOW_MAX_EVENTS = 50_000;

export interface WaypointMatcherOptions {
  readonly store: EventStore;
  readonly logger: Logger;
  /** The largest look_back, in seconds: how long the window keeps an event. */
  readonly windowS: number;
}

export class MatcherStoppedError extends Error {
  readonly code = "WAYPOINT_STOPPING";
  constructor() {
    super("herald is shutting down");
    this.name = "MatcherStoppedError";
  }
}

/**
 * The SSE matcher of one herald process: it follows the event store's tenant events live (so a waiter
 * here sees an event ingested by any process), keeps a window of recent ones for look_back, learns
 * each wallet's group, and answers waiters from an index.
 */
export class WaypointMatcher {
  readonly #index = new WaiterIndex();
  readonly #window: RecentTenantEvents;
  /** wallet_id → group_id, from every tenant event seen, for refusing a tenant-admin of another group at once. */
  readonly #walletGroups = new Map<string, string>();
  #subscription: Subscription | undefined;
  #following: Promise<void> | undefined;
  #stopped = false;

  private constructor(private readonly options: WaypointMatcherOptions) {
    this.#window = new RecentTenantEvents(options.windowS * 1000, WINDOW_MAX_EVENTS);
  }

  /**
   * Reads the tenant events already in the store (warming the window and the wallet groups), then
   * follows the store live from there. Resolves once caught up, so that a waiter accepted afterwards
   * is only ever answered by a live event or by the window.
   */
  static async start(options: WaypointMatcherOptions): Promise<WaypointMatcher> {
    const matcher = new WaypointMatcher(options);
    const head = await options.store.headPosition();
    let from: ReadFrom = "start";
    for (;;) {
      const page = await options.store.readAll(from, { filter: TENANT_EVENTS, maxCount: PAGE });
      for (const stored of page) matcher.#see(stored);
      const last = page.at(-1);
      if (!last) break;
      from = last.position;
    }
    // Nothing visible was left unread, so the live subscription need not scan other events up to the head.
    if (comparePositions(head, from) > 0) from = head;
    matcher.#subscription = options.store.subscribeAll(from, { filter: TENANT_EVENTS });
    matcher.#following = matcher.#follow(matcher.#subscription);
    return matcher;
  }

  /** True once stop() began: no new waits. */
  get stopping(): boolean {
    return this.#stopped;
  }

  get waiterCount(): number {
    return this.#index.size;
  }

  get windowSize(): number {
    return this.#window.size;
  }

  groupOfWallet(walletId: string): string | undefined {
    return this.#walletGroups.get(walletId);
  }

  /**
   * Registers the waiter, then replays the window: the event it waits for is either already in the
   * window or not yet seen, in which case the live subscription will offer it. Both happen in this
   * one synchronous call, so no event can slip between them. Returns the cancel function (idempotent).
   */
  wait(waiter: Waiter): () => void {
    if (this.#stopped) throw new MatcherStoppedError();
    this.#index.add(waiter);
    this.#window.evict(Date.now());
    for (const seen of this.#window.withKey(waitKeyOfWait(waiter.wait), waiter.notBefore)) {
      if (eventAnswersWait(seen.event, waiter.wait) && eventInScope(seen.event, waiter.scope)) {
        this.#answer(waiter, seen);
        break;
      }
    }
    return () => void this.#index.remove(waiter);
  }

  /** Ends every open wait and stops following the store. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const waiter of this.#index.drain()) waiter.shutdown();
    await this.#subscription?.close();
    await this.#following;
  }

  async #follow(subscription: Subscription): Promise<void> {
    try {
      for (;;) {
        for (const stored of await subscription.nextBatch(PAGE)) this.#offer(this.#see(stored));
      }
    } catch (error) {
      if (error instanceof SubscriptionClosedError) return;
      // The subscription retries read errors itself; what reaches here is a broken invariant.
      this.options.logger.error({ err: error }, "the waypoint matcher stopped following the event store");
    }
  }

  /** Records a tenant event in the wallet groups and the window; undefined when it can answer no wait. */
  #see(stored: StoredEvent): SeenTenantEvent | undefined {
    const { event, receivedAt } = stored.data as TenantEventReceived["data"];
    if (event.group_id) this.#walletGroups.set(event.wallet_id, event.group_id);
    const key = waitKeyOfEvent(event);
    if (key === undefined) return undefined;
    const seen: SeenTenantEvent = { position: stored.position, event, receivedAt, key };
    this.#window.add(seen, Date.now());
    return seen;
  }

  #offer(seen: SeenTenantEvent | undefined): void {
    if (!seen) return;
    for (const waiter of this.#index.candidates(seen.event, seen.key)) {
      if (eventInScope(seen.event, waiter.scope)) this.#answer(waiter, seen);
    }
  }

  #answer(waiter: Waiter, seen: SeenTenantEvent): void {
    if (this.#index.remove(waiter)) waiter.answer(seen);
  }
}
