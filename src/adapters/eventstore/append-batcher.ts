import type { HeraldEvent } from "../../domain/herald-event.js";
import { isPermanentAppendError } from "./append-errors.js";
import {
  type AnyEvent,
  AppendManyIncompleteError,
  type AppendOutcome,
  type AppendRequest,
  type EventStore,
} from "./event-store.js";

interface Entry<E extends AnyEvent> {
  readonly request: AppendRequest<E>;
  readonly resolve: (outcome: AppendOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit for many small concurrent appends, from any number of callers: requests that arrive
 * while batches are being written go out together in the next `appendMany`. Two batches may be in
 * flight at once, so that PostgreSQL can flush one commit while the next batch is on its way (its
 * own group commit), but a request whose stream is in a batch in flight waits for that batch: one
 * stream's requests still apply in the order they were made.
 *
 * Each request keeps its own revision check and gets its own outcome. When a batch fails part way
 * (AppendManyIncompleteError), the requests that were written still get theirs. When the store
 * refuses a batch for good (isPermanentAppendError: the data of one request), the batch is halved
 * until the refused request is alone, so that one caller's bad data never fails the others'.
 */
export class AppendBatcher<E extends AnyEvent = HeraldEvent> {
  #queue: Entry<E>[] = [];
  /** Streams written by the batches in flight. */
  #busy = new Map<string, number>();
  #inFlight = 0;
  #scheduled = false;
  #idle: (() => void)[] = [];

  constructor(
    private readonly store: EventStore<E>,
    private readonly maxBatch = 256,
    private readonly maxInFlight = 2,
  ) {}

  append(request: AppendRequest<E>): Promise<AppendOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      this.#schedule();
    });
  }

  /**
   * Several requests at once, answered as EventStore.appendMany answers: one outcome per request, or
   * AppendManyIncompleteError carrying those that were written when some were not (as EventStoreDB's
   * appendMany does), so that callers written for either store handle it already. The requests may
   * go out in different batches: nothing here is atomic across streams.
   */
  async appendMany(requests: readonly AppendRequest<E>[]): Promise<AppendOutcome[]> {
    const settled = await Promise.allSettled(requests.map((request) => this.append(request)));
    const failed = settled.find((result) => result.status === "rejected");
    const outcomes = settled.map((result) => (result.status === "fulfilled" ? result.value : undefined));
    if (!failed) return outcomes as AppendOutcome[];
    throw new AppendManyIncompleteError(outcomes, { cause: failed.reason });
  }

  /** Resolves when everything queued so far is written. */
  drain(): Promise<void> {
    if (this.#queue.length === 0 && this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.maxInFlight || this.#queue.length === 0) return;
    this.#scheduled = true;
    // Wait a tick so that appends started together are written together.
    setImmediate(() => {
      this.#scheduled = false;
      this.#start();
    });
  }

  /** Starts batches while there is room in flight and something to write. */
  #start(): void {
    while (this.#inFlight < this.maxInFlight) {
      const batch = this.#take();
      if (batch.length === 0) break;
      this.#inFlight++;
      const streams = [...new Set(batch.map((entry) => entry.request.stream))];
      for (const stream of streams) this.#busy.set(stream, (this.#busy.get(stream) ?? 0) + 1);
      void this.#write(batch).finally(() => {
        this.#inFlight--;
        for (const stream of streams) {
          const count = (this.#busy.get(stream) ?? 1) - 1;
          if (count === 0) this.#busy.delete(stream);
          else this.#busy.set(stream, count);
        }
        if (this.#queue.length === 0 && this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
        this.#start();
      });
    }
  }

  /** Up to maxBatch queued requests, in order, leaving those whose stream is in flight. */
  #take(): Entry<E>[] {
    const batch: Entry<E>[] = [];
    const left: Entry<E>[] = [];
    for (const entry of this.#queue) {
      if (batch.length < this.maxBatch && !this.#busy.has(entry.request.stream)) batch.push(entry);
      else left.push(entry);
    }
    this.#queue = left;
    return batch;
  }

  async #write(batch: readonly Entry<E>[]): Promise<void> {
    let error: unknown;
    try {
      const outcomes = await this.store.appendMany(batch.map((entry) => entry.request));
      batch.forEach((entry, index) => {
        const outcome = outcomes[index];
        if (outcome) entry.resolve(outcome);
        else entry.reject(new Error("appendMany returned fewer outcomes than requests"));
      });
      return;
    } catch (caught) {
      error = caught;
    }
    // Without a transaction across streams (EventStoreDB) some appends may have been written
    // before the failure: those callers get their outcome, only the others the error.
    const known = error instanceof AppendManyIncompleteError ? error.outcomes : [];
    const unsettled: Entry<E>[] = [];
    batch.forEach((entry, index) => {
      const outcome = known[index];
      if (outcome) entry.resolve(outcome);
      else unsettled.push(entry);
    });
    if (unsettled.length > 1 && isPermanentAppendError(error)) {
      // In order, so that one stream's requests still apply in the order they were made.
      const half = Math.ceil(unsettled.length / 2);
      await this.#write(unsettled.slice(0, half));
      await this.#write(unsettled.slice(half));
      return;
    }
    for (const entry of unsettled) entry.reject(error);
  }
}

/**
 * The store with its unfenced appends going through the process's batcher, for the parts that take a
 * store (reactors, commands, NATS ingest): their appends share commits with everyone else's. A fenced
 * appendMany goes to the store directly: the fence and its requests are one unit (one transaction on
 * PostgreSQL), which a batch mixing in other callers' requests would not keep.
 */
export function batchedStore<E extends AnyEvent>(store: EventStore<E>, batcher: AppendBatcher<E>): EventStore<E> {
  return {
    kind: store.kind,
    async append(stream, events, expectedRevision) {
      const outcome = await batcher.append({ stream, events, expectedRevision });
      if (!outcome.ok) throw outcome.error;
      return outcome.result;
    },
    appendMany: (requests, options) =>
      options?.fence ? store.appendMany(requests, options) : batcher.appendMany(requests),
    readStream: (stream, options) => store.readStream(stream, options),
    readAll: (from, options) => store.readAll(from, options),
    readPage: (from, options) => store.readPage(from, options),
    readAllBackwards: (before, options) => store.readAllBackwards(before, options),
    subscribeAll: (from, options) => store.subscribeAll(from, options),
    headPosition: () => store.headPosition(),
    ping: () => store.ping(),
    // The store belongs to whoever opened it.
    close: async () => {},
  };
}
