import { AppendManyIncompleteError, type AppendOutcome, type AppendRequest, type EventStore } from "./event-store.js";

/**
 * Group commit for many small concurrent appends: requests that arrive while a batch is being
 * written go out together in the next `appendMany`. Each request keeps its own revision check and
 * gets its own outcome; when the batch fails part way (AppendManyIncompleteError), the requests
 * that were written still get theirs.
 */
export class AppendBatcher {
  #queue: { request: AppendRequest; resolve: (outcome: AppendOutcome) => void; reject: (error: unknown) => void }[] = [];
  #flushing: Promise<void> | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly maxBatch = 256,
  ) {}

  append(request: AppendRequest): Promise<AppendOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      // Wait a tick so that appends started together are written together.
      this.#flushing ??= new Promise<void>((done) => setImmediate(done)).then(() => this.#flush());
    });
  }

  /** Resolves when everything queued so far is written. */
  async drain(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.maxBatch);
      try {
        const outcomes = await this.store.appendMany(batch.map((entry) => entry.request));
        batch.forEach((entry, index) => {
          const outcome = outcomes[index];
          if (outcome) entry.resolve(outcome);
          else entry.reject(new Error("appendMany returned fewer outcomes than requests"));
        });
      } catch (error) {
        // Without a transaction across streams (EventStoreDB) some appends may have been written
        // before the failure: those callers get their outcome, only the others the error.
        const known = error instanceof AppendManyIncompleteError ? error.outcomes : [];
        batch.forEach((entry, index) => {
          const outcome = known[index];
          if (outcome) entry.resolve(outcome);
          else entry.reject(error);
        });
      }
    }
    this.#flushing = undefined;
  }
}
