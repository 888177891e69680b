import { type AllStreamSubscription, ErrorType, type EventStoreDBClient, isCommandError } from "@eventstore/db-client";
import type { HeraldEvent } from "../../domain/herald-event.js";
import { toReadPosition, toRecordedEvent, toServerFilter } from "./esdb-mapping.js";
import { isSystemEvent, matchesFilter } from "./event-filter.js";
import type { AnyEvent, EventFilter, LogPage, Position, ReadFrom, StoredEvent, Subscription } from "./event-store.js";
import { SubscriptionClosedError } from "./event-store.js";
import { comparePositions } from "./position.js";
import { type RecordedEvent, recordedAs } from "./recorded-event.js";
import { subscriptionEvents } from "./subscription-events.js";

/** Stop reading from the server when this many events wait for the consumer; resume below half. */
const HIGH_WATER = 2000;
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

/**
 * Errors after which subscribing again can succeed: the server went away or dropped the call
 * (restart, leader change, network), or a deadline passed. Anything else (access denied, a
 * malformed event, a bug) fails the subscription instead of looping.
 */
const TRANSIENT: ReadonlySet<string> = new Set([
  ErrorType.UNAVAILABLE,
  ErrorType.CANCELLED,
  ErrorType.DEADLINE_EXCEEDED,
  ErrorType.TIMEOUT,
  ErrorType.NOT_LEADER,
  ErrorType.UNKNOWN,
]);

export function isTransientEsdbError(error: unknown): boolean {
  return error instanceof Error && isCommandError(error) && TRANSIENT.has(error.type);
}

export interface EsdbSubscriptionOptions {
  readonly filter?: EventFilter;
  /** Told about each transient failure before the subscription resubscribes (for logs, metrics). */
  readonly onError?: (error: unknown) => void;
  /** Called once when the subscription closes. */
  readonly onClose?: () => void;
}

/**
 * A catch-up subscription to `$all` that survives the server. @eventstore/db-client never
 * resubscribes by itself: when its call fails, the subscription just errors. This one then
 * subscribes again from the last event it received (fromPosition is exclusive), with capped
 * exponential backoff, so no event is lost or repeated across a restart.
 *
 * Received events wait in a buffer for `nextBatch`; when the buffer is full, reading from the
 * server pauses (gRPC flow control then holds the server back). The server's checkpoints move the
 * position over the events its filter left out, so `nextPage` moves on with the log and a
 * resubscription starts after them rather than after the last event that passed.
 */
export class EsdbSubscription<E extends AnyEvent = HeraldEvent> implements Subscription<E> {
  readonly #client: EventStoreDBClient;
  readonly #options: EsdbSubscriptionOptions;
  readonly #buffer: StoredEvent<E>[] = [];
  readonly #consumers = new Set<() => void>();
  #position: ReadFrom;
  /** The position the last page handed out reached. */
  #handedOut: ReadFrom;
  #closed = false;
  #failure: { error: unknown } | undefined;
  #resumeProducer: (() => void) | undefined;
  #wakeRetry: (() => void) | undefined;
  #current: AllStreamSubscription | undefined;
  readonly #running: Promise<void>;

  constructor(client: EventStoreDBClient, from: ReadFrom, options: EsdbSubscriptionOptions = {}) {
    this.#client = client;
    this.#options = options;
    this.#position = from;
    this.#handedOut = from;
    this.#running = this.#run();
  }

  async nextBatch(max: number): Promise<StoredEvent<E>[]> {
    for (;;) {
      const { events } = await this.nextPage(max);
      if (events.length > 0) return events;
    }
  }

  async nextPage(max: number): Promise<LogPage<E>> {
    for (;;) {
      if (this.#closed) throw new SubscriptionClosedError();
      if (this.#buffer.length > 0) {
        const events = this.#buffer.splice(0, Math.max(1, max));
        if (this.#buffer.length < HIGH_WATER / 2) this.#resumeProducer?.();
        // Everything up to #position was looked at, but only up to the last event handed out when more wait.
        this.#handedOut = this.#buffer.length === 0 ? this.#position : events.at(-1)!.position;
        return { events, position: this.#handedOut };
      }
      if (comparePositions(this.#position, this.#handedOut) > 0) {
        this.#handedOut = this.#position;
        return { events: [], position: this.#handedOut };
      }
      if (this.#failure) throw this.#failure.error;
      await new Promise<void>((resolve) => this.#consumers.add(resolve));
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#options.onClose?.();
    this.#wakeConsumers();
    this.#resumeProducer?.();
    this.#wakeRetry?.();
    const current = this.#current;
    if (current) {
      await current.unsubscribe().catch(() => {});
      // A cancelled call does not always end the client's stream; destroying it ends our loop.
      current.destroy();
    }
    await this.#running;
  }

  [Symbol.asyncIterator](): AsyncIterator<StoredEvent<E>> {
    return subscriptionEvents(this);
  }

  async #run(): Promise<void> {
    let retryMs = FIRST_RETRY_MS;
    while (!this.#closed) {
      const subscription = this.#client.subscribeToAll({
        fromPosition: toReadPosition(this.#position),
        // The client calls this while it transforms the server's messages, in their order, so pushing
        // the checkpoint into its stream hands it to the loop below after every event sent before it.
        filter: toServerFilter(this.#options.filter, (stream, position) => void stream.push({ checkpoint: position })),
      });
      this.#current = subscription;
      try {
        for await (const resolved of subscription as AsyncIterable<{
          event?: Parameters<typeof toRecordedEvent>[0];
          checkpoint?: Position;
        }>) {
          if (this.#closed) break;
          retryMs = FIRST_RETRY_MS;
          if (resolved.checkpoint) this.#passed(resolved.checkpoint);
          if (!resolved.event) continue;
          this.#receive(toRecordedEvent(resolved.event));
          if (this.#buffer.length >= HIGH_WATER) await this.#waitForConsumer();
        }
        // The call ended without an error (the server closed it): subscribe again, like after a failure.
      } catch (error) {
        if (this.#closed) break;
        if (!isTransientEsdbError(error)) {
          this.#failure = { error };
          this.#wakeConsumers();
          return;
        }
        this.#options.onError?.(error);
      } finally {
        // Cancel the gRPC call too: after a conversion error or a break it would still be running.
        void subscription.unsubscribe().catch(() => {});
        subscription.destroy();
        this.#current = undefined;
      }
      if (this.#closed) break;
      await this.#sleep(retryMs);
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    }
  }

  #receive(event: RecordedEvent): void {
    // After a resubscription the server starts strictly after our position; this guard also
    // keeps out anything a misbehaving server sends twice.
    if (comparePositions(event.position, this.#position) <= 0) return;
    this.#position = event.position;
    if (isSystemEvent(event.stream, event.type) || !matchesFilter(this.#options.filter, event.stream, event.type))
      return;
    this.#buffer.push(recordedAs<E>(event));
    this.#wakeConsumers();
  }

  /** The server has looked at everything up to `position`; what passed its filter came before. */
  #passed(position: Position): void {
    if (comparePositions(position, this.#position) <= 0) return;
    this.#position = position;
    this.#wakeConsumers();
  }

  #wakeConsumers(): void {
    for (const wake of this.#consumers) wake();
    this.#consumers.clear();
  }

  #waitForConsumer(): Promise<void> {
    return new Promise((resolve) => {
      this.#resumeProducer = () => {
        this.#resumeProducer = undefined;
        resolve();
      };
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakeRetry = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakeRetry = done;
    });
  }
}
