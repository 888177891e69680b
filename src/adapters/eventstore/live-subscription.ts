import type { HeraldEvent } from "../../domain/herald-event.js";
import {
  type AnyEvent,
  type LogPage,
  type ReadFrom,
  type StoredEvent,
  type Subscription,
  SubscriptionClosedError,
} from "./event-store.js";
import { comparePositions } from "./position.js";
import { subscriptionEvents } from "./subscription-events.js";

/** What a polling subscription needs from its store's wake-up signal. */
export interface WakeSignal {
  readonly count: number;
  wait(ms: number): Promise<void>;
}

/** Looks at up to `max` events after `from`: EventStore.readPage with the subscription's filter. */
export type ReadPage<E extends AnyEvent> = (from: ReadFrom, max: number) => Promise<LogPage<E>>;

const IDLE_POLL_MS = 1000;
const MAX_ERROR_BACKOFF_MS = 5000;

/**
 * Catch-up then live, for stores that read pages and publish a wake-up signal. Its position moves
 * over every event looked at, filtered out or not, so no read looks at an event twice. After a
 * wake-up that finds nothing (an older transaction is still open and holds readers back) it re-reads soon, backing
 * off to the idle poll. Read errors are retried with backoff until the subscription is closed, so a
 * database restart pauses readers instead of ending them.
 */
export class LiveSubscription<E extends AnyEvent = HeraldEvent> implements Subscription<E> {
  #position: ReadFrom;
  #closed = false;
  #seenSignal = -1;
  #wakeOnClose: (() => void) | undefined;

  constructor(
    from: ReadFrom,
    private readonly readPage: ReadPage<E>,
    private readonly signal: WakeSignal,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    this.#position = from;
  }

  async nextBatch(max: number): Promise<StoredEvent<E>[]> {
    for (;;) {
      const { events } = await this.nextPage(max);
      if (events.length > 0) return events;
    }
  }

  async nextPage(max: number): Promise<LogPage<E>> {
    let emptyDelay = 0;
    let errorDelay = 100;
    for (;;) {
      if (this.#closed) throw new SubscriptionClosedError();
      const signalBefore = this.signal.count;
      let page: LogPage<E>;
      try {
        page = await this.readPage(this.#position, max);
        errorDelay = 100;
      } catch (error) {
        if (this.#closed) throw new SubscriptionClosedError();
        this.onError(error);
        await this.#sleep(errorDelay);
        errorDelay = Math.min(errorDelay * 2, MAX_ERROR_BACKOFF_MS);
        continue;
      }
      if (this.#closed) throw new SubscriptionClosedError();
      const moved = comparePositions(page.position, this.#position);
      if (moved < 0 || (moved === 0 && page.events.length > 0)) {
        throw new Error("event store returned a position that is not after the subscription's position");
      }
      if (moved > 0) {
        this.#position = page.position;
        return page;
      }
      if (signalBefore !== this.#seenSignal || this.signal.count !== signalBefore) {
        // Something was appended since the last look, or during this read (whose signal has come and
        // gone: waiting for the next one could last until the idle poll), but it is not visible yet:
        // look again soon.
        this.#seenSignal = signalBefore;
        emptyDelay = 5;
      } else {
        emptyDelay = emptyDelay === 0 ? IDLE_POLL_MS : Math.min(emptyDelay * 2, IDLE_POLL_MS);
      }
      await this.#sleep(emptyDelay);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#wakeOnClose?.();
  }

  #sleep(ms: number): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      this.#wakeOnClose = resolve;
    });
    return Promise.race([this.signal.wait(ms), closed]);
  }

  [Symbol.asyncIterator](): AsyncIterator<StoredEvent<E>> {
    return subscriptionEvents(this);
  }
}
