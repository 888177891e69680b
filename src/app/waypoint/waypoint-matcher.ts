import type { Logger } from "pino";
import { type EventStore, type Position, type ReadBefore, type StoredEvent, type Subscription, SubscriptionClosedError } from "../../adapters/eventstore/event-store.js";
import { comparePositions } from "../../adapters/eventstore/position.js";
import { type TenantEventReceived, tenantEventText } from "../../domain/ingest-events.js";
import { eventAnswersWait, eventInScope, inWaitedGroup, waitKeyOfEvent, waitKeyOfWait } from "../../domain/waypoint-matching.js";
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
  /** The wallet's group as the wallet-groups read model has it; undefined when it has none. */
  readonly readWalletGroup: (walletId: string) => Promise<string | undefined>;
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
 * here sees an event ingested by any process), keeps a window of recent ones for look_back, and
 * answers waiters from an index.
 */
export class WaypointMatcher {
  readonly #index = new WaiterIndex();
  readonly #window: RecentTenantEvents;
  #subscription: Subscription | undefined;
  #following: Promise<void> | undefined;
  #stopped = false;

  private constructor(private readonly options: WaypointMatcherOptions) {
    this.#window = new RecentTenantEvents(options.windowS * 1000, WINDOW_MAX_EVENTS);
  }

  /**
   * Warms the window from the newest tenant events in the store, then follows the store live from
   * the head it took before reading. Everything up to that head is read here and everything after
   * it arrives live, so no event is missed or seen twice between the two. Resolves once warm, so
   * that a waiter accepted afterwards is only ever answered by a live event or by the window.
   */
  static async start(options: WaypointMatcherOptions): Promise<WaypointMatcher> {
    const matcher = new WaypointMatcher(options);
    const head = await options.store.headPosition();
    if (head !== "start") await matcher.#warm(head);
    matcher.#subscription = options.store.subscribeAll(head, { filter: TENANT_EVENTS });
    matcher.#following = matcher.#follow(matcher.#subscription);
    return matcher;
  }

  /**
   * Reads back from `head` a page at a time until the events are older than the window or the
   * window is full: older events can answer no look_back, and the wallet-groups read model knows
   * their wallets. Start-up so costs the window's events, not the whole history.
   */
  async #warm(head: Position): Promise<void> {
    const cutoff = Date.now() - this.options.windowS * 1000;
    const newestFirst: SeenTenantEvent[] = [];
    let before: ReadBefore = "end";
    reading: for (;;) {
      const page = await this.options.store.readAllBackwards(before, { filter: TENANT_EVENTS, maxCount: PAGE });
      for (const stored of page) {
        before = stored.position;
        // Appended since the head was taken: the subscription brings it.
        if (comparePositions(stored.position, head) > 0) continue;
        const seen = toSeen(stored);
        if (seen.receivedAt < cutoff) break reading;
        if (!worthHolding(seen)) continue;
        newestFirst.push(seen);
        if (newestFirst.length === WINDOW_MAX_EVENTS) break reading;
      }
      if (page.length < PAGE) break;
    }
    const now = Date.now();
    for (const seen of newestFirst.reverse()) this.#window.add(seen, now);
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

  /**
   * The group that the wallet's newest tenant event named, or undefined. The window answers first:
   * it is as current as this matcher's following, which the read model may lag by a moment. So a
   * wallet whose event this matcher has seen is known here at once, as when every wallet was held
   * in memory; only a read model lagging by more than the window could answer an older group, or
   * none, for a wallet seen in between.
   */
  async groupOfWallet(walletId: string): Promise<string | undefined> {
    return this.#window.groupOf(walletId) ?? (await this.options.readWalletGroup(walletId));
  }

  /**
   * Registers the waiter, then replays the window: the event it waits for is either already in the
   * window or not yet seen, in which case the live subscription will offer it. The oldest match in
   * the window answers, as acapy-cloud's consumer yields the stream in order. Both happen in this
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

  /** Holds a tenant event in the window when it can answer a wait or names a group. */
  #see(stored: StoredEvent): SeenTenantEvent {
    const seen = toSeen(stored);
    if (worthHolding(seen)) this.#window.add(seen, Date.now());
    return seen;
  }

  #offer(seen: SeenTenantEvent): void {
    if (seen.key === undefined) return;
    for (const waiter of this.#index.candidates(seen.event, seen.key)) {
      if (eventInScope(seen.event, waiter.scope) && inWaitedGroup(seen.event, waiter.wait)) this.#answer(waiter, seen);
    }
  }

  #answer(waiter: Waiter, seen: SeenTenantEvent): void {
    if (this.#index.remove(waiter)) waiter.answer(seen);
  }
}

function toSeen(stored: StoredEvent): SeenTenantEvent {
  const data = stored.data as TenantEventReceived["data"];
  const { event, receivedAt } = data;
  return { position: stored.position, event, text: tenantEventText(data), receivedAt, key: waitKeyOfEvent(event) };
}

function worthHolding(seen: SeenTenantEvent): boolean {
  return seen.key !== undefined || Boolean(seen.event.group_id);
}
