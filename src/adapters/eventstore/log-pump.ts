import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { HeraldEvent } from "../../domain/herald-event.js";
import type { AnyEvent, EventStore, LogPage, Position, ReadFrom, StoredEvent, Subscription } from "./event-store.js";
import { comparePositions, positionToJSON } from "./position.js";

/** What a consumer gets: the events of one look at the log that it asked for, and how far that look went. */
export interface PumpPage<E extends AnyEvent = HeraldEvent> {
  readonly events: readonly StoredEvent<E>[];
  readonly position: Position;
}

export interface LogConsumer<E extends AnyEvent = HeraldEvent> {
  /** For logs. */
  readonly name: string;
  /** Only these types reach `handle` (all when absent); the page's position still moves over the others. */
  readonly eventTypes?: readonly string[];
  /**
   * For a consumer whose cost is per page more than per event (a transaction per page): after each
   * page it waits this long for the next one to fill, unless a page's worth is waiting already. A
   * page that arrives while it is idle is handed at once, so this delays nothing on a quiet log.
   */
  readonly lingerMs?: number;
  /** Resolves once the page is applied; the consumer's next page starts where this one ends. */
  handle(page: PumpPage<E>): Promise<void>;
}

export interface LogPumpOptions<E extends AnyEvent> {
  readonly store: EventStore<E>;
  readonly logger: Logger;
  /** Events a page reads at the head of the log. */
  readonly pageSize?: number;
  /** Events a page reads while the previous page was full (catching up). */
  readonly catchUpPageSize?: number;
  /** Events a busy consumer's merged page may hold before the reader waits for it (default 10,000). */
  readonly maxBacklog?: number;
}

interface Registration<E extends AnyEvent> {
  readonly consumer: LogConsumer<E>;
  readonly types: ReadonlySet<string> | undefined;
  /** The last position this consumer applied (or registered at). */
  position: ReadFrom;
  /** The last position handed to it or waiting for it: `position` unless a page is in flight. */
  queuedTo: ReadFrom;
  /** Pages that arrived while it was busy, merged into one: handed over when it is done. */
  backlog: StoredEvent<E>[];
  /** While it is handling a page (and then its backlog). */
  running: Promise<void> | undefined;
  /** After a failure: when it gets its page again, and the wait after the next failure. */
  retryAt: number;
  backoff: number;
}

const MAX_RETRY_BACKOFF_MS = 30_000;

/**
 * One reader of the whole log per process, fanning each page out to its consumers (projections,
 * caches, the SSE matcher), instead of one filtered reader each: the log is read once however many
 * follow it. It reads from the oldest consumer's position; a consumer registered behind the reader
 * (a process that became the projections' leader) makes it go back, and the others skip what they
 * already had.
 *
 * A consumer gets the next page as soon as it is done with the previous one: pages that arrive while
 * it is busy are merged into one, so a slow consumer (the projections, 50–100 ms a page under load)
 * takes larger pages instead of holding the quick ones (the SSE matcher, the caches) back. The reader
 * waits only when a consumer's merged page would pass `maxBacklog` events, which bounds the memory a
 * slow consumer can hold.
 *
 * A consumer that throws is left behind and gets its page again after a backoff (the reader goes
 * back for it then), while the others go on.
 */
export class LogPump<E extends AnyEvent = HeraldEvent> {
  readonly #registrations = new Set<Registration<E>>();
  #subscription: Subscription<E> | undefined;
  #loop: Promise<void> | undefined;
  #stopping = false;
  /** Set when the reader must start again from the oldest consumer's position. */
  #rewind = false;
  #wake: (() => void) | undefined;
  readonly #retryTimers = new Set<ReturnType<typeof setTimeout>>();
  /** Where the reader is (undefined while it has no consumer). */
  #readerAt: ReadFrom | undefined;

  constructor(private readonly options: LogPumpOptions<E>) {}

  /** Hands `consumer` every page after `from`, from the next page on. Returns its unregistration. */
  register(consumer: LogConsumer<E>, from: ReadFrom): () => void {
    const registration: Registration<E> = {
      consumer,
      types: consumer.eventTypes && new Set(consumer.eventTypes),
      position: from,
      queuedTo: from,
      backlog: [],
      running: undefined,
      retryAt: 0,
      backoff: 100,
    };
    this.#registrations.add(registration);
    if (this.#readerAt === undefined || comparePositions(from, this.#readerAt) < 0) this.#restartReader();
    return () => {
      this.#registrations.delete(registration);
      registration.backlog = [];
    };
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops reading and waits for the pages consumers are handling. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const timer of this.#retryTimers) clearTimeout(timer);
    this.#restartReader();
    await this.#loop;
    await Promise.all([...this.#registrations].map((registration) => registration.running));
  }

  /** Starts the reader again from the oldest position a consumer needs (it may not be at the head). */
  #restartReader(): void {
    this.#rewind = true;
    this.#wake?.();
    void this.#subscription?.close();
  }

  async #run(): Promise<void> {
    const { store, logger } = this.options;
    while (!this.#stopping) {
      this.#rewind = false;
      const from = this.#oldest();
      this.#readerAt = from;
      if (from === undefined) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
        continue;
      }
      const subscription = store.subscribeAll(from);
      this.#subscription = subscription;
      try {
        await this.#follow(subscription, from);
      } catch (error) {
        if (!this.#stopping && !this.#rewind) {
          logger.error({ err: error, from: positionToJSON(from) }, "log reader failed; reading again");
          await sleep(500);
        }
      } finally {
        this.#subscription = undefined;
        await subscription.close();
      }
    }
  }

  async #follow(subscription: Subscription<E>, from: ReadFrom): Promise<void> {
    const { pageSize = 1000, catchUpPageSize = 5000 } = this.options;
    let next: Promise<LogPage<E>> = subscription.nextPage(pageSize);
    try {
      while (!this.#stopping && !this.#rewind) {
        const page = await next;
        // Read-ahead: the next page is on its way while this one is handed out.
        next = subscription.nextPage(page.events.length >= pageSize ? catchUpPageSize : pageSize);
        const { position } = page;
        if (position === "start") continue;
        this.#fanOut(from, { events: page.events, position });
        from = this.#readerAt = position;
        await this.#roomForMore();
      }
    } finally {
      next.catch(() => {});
    }
  }

  #fanOut(from: ReadFrom, page: PumpPage<E>): void {
    const now = Date.now();
    for (const registration of this.#registrations) {
      // Pages reach a consumer in order, none missing: one that is behind this page waits for the
      // reader to go back for it; one ahead (it read on by itself) takes only what is new to it.
      if (
        comparePositions(registration.queuedTo, from) < 0 ||
        comparePositions(registration.queuedTo, page.position) >= 0
      )
        continue;
      if (registration.retryAt > now) continue;
      const events = page.events.filter(
        (event) =>
          comparePositions(event.position, registration.queuedTo) > 0 &&
          (!registration.types || registration.types.has(event.type)),
      );
      registration.queuedTo = page.position;
      if (registration.running) {
        for (const event of events) registration.backlog.push(event);
      } else {
        registration.running = this.#drive(registration, { events, position: page.position });
      }
    }
  }

  /** Hands `page` to the consumer, then what piled up meanwhile, until it has nothing waiting. */
  async #drive(registration: Registration<E>, page: PumpPage<E>): Promise<void> {
    const { pageSize = 1000 } = this.options;
    const { lingerMs } = registration.consumer;
    for (;;) {
      if (!(await this.#hand(registration, page))) break;
      if (lingerMs && registration.backlog.length < pageSize && !this.#stopping) await sleep(lingerMs);
      const { queuedTo } = registration;
      if (queuedTo === "start" || comparePositions(queuedTo, page.position) <= 0) break;
      if (!this.#registrations.has(registration)) break;
      page = { events: registration.backlog, position: queuedTo };
      registration.backlog = [];
    }
    registration.running = undefined;
  }

  /** Waits while a busy consumer's merged page is full: the reader goes on once it takes it. */
  async #roomForMore(): Promise<void> {
    const { maxBacklog = 10_000 } = this.options;
    for (;;) {
      let full: Promise<void> | undefined;
      for (const registration of this.#registrations) {
        if (registration.running && registration.backlog.length >= maxBacklog) full = registration.running;
      }
      if (!full || this.#stopping || this.#rewind) return;
      await full;
    }
  }

  /** True when the consumer applied the page; false when it failed and gets it again later. */
  async #hand(registration: Registration<E>, page: PumpPage<E>): Promise<boolean> {
    try {
      await registration.consumer.handle(page);
      registration.position = page.position;
      registration.backoff = 100;
      return true;
    } catch (error) {
      this.options.logger.error(
        { err: error, consumer: registration.consumer.name },
        "log consumer failed on a page; it gets it again",
      );
      // What piled up meanwhile follows the failed page: it is read again with it.
      registration.backlog = [];
      registration.queuedTo = registration.position;
      registration.retryAt = Date.now() + registration.backoff;
      const timer = setTimeout(() => {
        this.#retryTimers.delete(timer);
        this.#restartReader();
      }, registration.backoff);
      this.#retryTimers.add(timer);
      registration.backoff = Math.min(registration.backoff * 2, MAX_RETRY_BACKOFF_MS);
      return false;
    }
  }

  /** The oldest position a registered consumer has had, or undefined when there is none. */
  #oldest(): ReadFrom | undefined {
    let oldest: ReadFrom | undefined;
    for (const { queuedTo } of this.#registrations) {
      if (oldest === undefined || comparePositions(queuedTo, oldest) < 0) oldest = queuedTo;
    }
    return oldest;
  }
}
