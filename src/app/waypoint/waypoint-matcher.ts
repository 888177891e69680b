import type { Logger } from "pino";
import type {
  AppendedRequest,
  EventStore,
  Position,
  ReadBefore,
  ReadFrom,
  StoredEvent,
} from "../../adapters/eventstore/event-store.js";
import type { LogPump, PumpPage } from "../../adapters/eventstore/log-pump.js";
import { comparePositions, formatPosition } from "../../adapters/eventstore/position.js";
import { type TenantEventReceived, tenantEventText } from "../../domain/ingest-events.js";
import {
  eventAnswersWait,
  eventInScope,
  inWaitedGroup,
  waitKeyOfEvent,
  waitKeyOfWait,
} from "../../domain/waypoint-matching.js";
import { RecentTenantEvents } from "./recent-tenant-events.js";
import type { SeenTenantEvent, Waiter } from "./waiter.js";
import { WaiterIndex } from "./waiter-index.js";

const TENANT_EVENTS = { eventTypes: ["TenantEventReceived"] } as const;
const PAGE = 1000;
/** Bounds the look_back window's memory whatever the event rate (the age bound is HERALD_SSE_MAX_LOOK_BACK_S). */
const WINDOW_MAX_EVENTS = 50_000;
/**
 * Bounds the events offered at commit that the log reader has not brought yet (it may be held back
 * by a long transaction). Beyond it offers are declined: the reader brings those events later.
 */
const MAX_OFFERED_AHEAD = 10_000;

export interface WaypointMatcherOptions {
  /** For the window's warm-up: the newest tenant events, read backwards. */
  readonly store: EventStore;
  /** The process's log reader, which brings every tenant event after the warm-up. */
  readonly pump: LogPump;
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

/** What the matcher takes of a tenant event, whether the log reader brought it or an ingest offered it. */
type TenantEventRecord = { readonly position: Position; readonly data: TenantEventReceived["data"] };

/**
 * The SSE matcher of one herald process: it follows the log's tenant events through the process's log
 * reader (so a waiter here sees an event ingested by any process), keeps a window of recent ones for
 * look_back, and answers waiters from an index. This process's own ingests also offer it their tenant
 * events right at commit (offer), ahead of the log reader, which may wait for older transactions to
 * end before it sees them; the two are told apart by position, so each event counts once.
 */
export class WaypointMatcher {
  readonly #index = new WaiterIndex();
  readonly #window: RecentTenantEvents;
  /** Events offered at commit that the reader has not brought yet, by formatPosition. */
  readonly #aheadOfReader = new Map<string, Position>();
  /** How far the reader has looked: every tenant event at or before it has been seen (the xmin rule). */
  #readerAt: ReadFrom = "start";
  #unregister: (() => void) | undefined;
  #stopped = false;

  private constructor(private readonly options: WaypointMatcherOptions) {
    this.#window = new RecentTenantEvents(options.windowS * 1000, WINDOW_MAX_EVENTS);
  }

  /**
   * Warms the window from the newest tenant events in the store, then follows the log reader from
   * the head it took before reading. Everything up to that head is read here and everything after
   * it arrives through the reader, so no event is missed or seen twice between the two. Resolves once
   * warm, so that a waiter accepted afterwards is only ever answered by a live event or by the window.
   */
  static async start(options: WaypointMatcherOptions): Promise<WaypointMatcher> {
    const matcher = new WaypointMatcher(options);
    const head = await options.store.headPosition();
    if (head !== "start") await matcher.#warm(head);
    matcher.#readerAt = head;
    matcher.#unregister = options.pump.register(
      { name: "waypoint", ...TENANT_EVENTS, handle: async (page) => matcher.#follow(page) },
      head,
    );
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
      const page: StoredEvent<TenantEventReceived>[] = await this.options.store.readAllBackwards(before, {
        filter: TENANT_EVENTS,
        maxCount: PAGE,
      });
      for (const stored of page) {
        before = stored.position;
        // Appended since the head was taken: the subscription brings it.
        if (comparePositions(stored.position, head) > 0) continue;
        const seen = toSeen(stored.position, stored.data);
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
   * window or not yet seen, in which case the log reader or an ingest of this process brings it. The
   * oldest match in the window (by position) answers, as acapy-cloud's consumer yields the stream in
   * order. Both happen in this one synchronous call, so no event can slip between them. Returns the
   * cancel function (idempotent).
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

  /**
   * Tenant events appended by this process, right after their commit: they answer waiters and enter
   * the window now instead of when the log reader reaches them. Takes the appended requests as they
   * are (other types, refusals and multi-event requests are left to the reader); never throws.
   * An event the reader has already passed was seen through it, and one offered twice counts once.
   */
  offer(appended: readonly AppendedRequest[]): void {
    if (this.#stopped) return;
    for (const { request, outcome } of appended) {
      const [event, ...more] = request.events;
      if (!outcome.ok || !event || more.length > 0 || event.type !== "TenantEventReceived") continue;
      const { position } = outcome.result;
      if (comparePositions(position, this.#readerAt) <= 0 || this.#aheadOfReader.size >= MAX_OFFERED_AHEAD) continue;
      const key = formatPosition(position);
      if (this.#aheadOfReader.has(key)) continue;
      this.#aheadOfReader.set(key, position);
      try {
        this.#take({ position, data: event.data });
      } catch (error) {
        // The append has committed: its ingest must still answer and acknowledge.
        this.options.logger.error({ err: error }, "the waypoint matcher failed on an event offered at commit");
      }
    }
  }

  /** Ends every open wait and stops following the log. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const waiter of this.#index.drain()) waiter.shutdown();
    this.#unregister?.();
  }

  #follow(page: PumpPage): void {
    // In one synchronous step with moving #readerAt, so that offer() never falls between the two.
    for (const stored of page.events) {
      if (stored.type !== "TenantEventReceived") continue;
      if (!this.#aheadOfReader.delete(formatPosition(stored.position))) this.#take(stored);
    }
    this.#readerAt = page.position;
    if (this.#aheadOfReader.size > 0) this.#forgetPassed();
  }

  /**
   * Offered events the reader has passed without bringing them: none when the offered position is the
   * one the reader reports (it brings every tenant event in order); this keeps the map bounded if a
   * backend ever reported an append's position otherwise.
   */
  #forgetPassed(): void {
    for (const [key, position] of this.#aheadOfReader) {
      if (comparePositions(position, this.#readerAt) <= 0) this.#aheadOfReader.delete(key);
    }
  }

  /** A tenant event seen for the first time: it enters the window and answers the waiters it matches. */
  #take(record: TenantEventRecord): void {
    const seen = toSeen(record.position, record.data);
    // Held when it can answer a wait or names a group.
    if (worthHolding(seen)) this.#window.add(seen, Date.now());
    this.#answerLive(seen);
  }

  #answerLive(seen: SeenTenantEvent): void {
    if (seen.key === undefined) return;
    for (const waiter of this.#index.candidates(seen.event, seen.key)) {
      if (eventInScope(seen.event, waiter.scope) && inWaitedGroup(seen.event, waiter.wait)) this.#answer(waiter, seen);
    }
  }

  #answer(waiter: Waiter, seen: SeenTenantEvent): void {
    if (this.#index.remove(waiter)) waiter.answer(seen);
  }
}

function toSeen(position: Position, data: TenantEventReceived["data"]): SeenTenantEvent {
  const { event, receivedAt } = data;
  return { position, event, text: tenantEventText(data), receivedAt, key: waitKeyOfEvent(event) };
}

function worthHolding(seen: SeenTenantEvent): boolean {
  return seen.key !== undefined || Boolean(seen.event.group_id);
}
