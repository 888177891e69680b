import {
  type AllStreamResolvedEvent,
  BACKWARDS,
  END,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  EventStoreDBClient,
  FORWARDS,
  type ResolvedEvent,
  StreamNotFoundError,
} from "@eventstore/db-client";
import type { HeraldEvent } from "../../domain/herald-event.js";
import { toEsdbEvent, toEsdbRevision, toReadPosition, toRecordedEvent } from "./esdb-mapping.js";
import { EsdbSubscription, isTransientEsdbError } from "./esdb-subscription.js";
import { isSystemEvent, matchesFilter } from "./event-filter.js";
import {
  type AnyEvent,
  type AppendFence,
  AppendManyIncompleteError,
  type AppendManyOptions,
  type AppendOutcome,
  type AppendRequest,
  type AppendResult,
  type EventFilter,
  type EventOfType,
  type EventStore,
  EventStoreUnavailableError,
  FenceMovedError,
  type LogPage,
  type ReadAllOptions,
  type ReadBefore,
  type ReadFrom,
  type ReadPageOptions,
  type ReadStreamOptions,
  type StoredEvent,
  WrongExpectedVersionError,
} from "./event-store.js";
import { expectedRevisionHolds } from "./expected-revision.js";
import { comparePositions } from "./position.js";
import { type RecordedEvent, recordedAs } from "./recorded-event.js";

/** How many events one `$all` read asks the server for while looking for filtered events. */
const READ_ALL_PAGE = 500;
/** Appends in flight at once in `appendMany` (streams are independent; one stream's appends run in order). */
const APPEND_CONCURRENCY = 8;

// Defined with the port, since callers (the append batcher) act on the outcomes it carries.
export { AppendManyIncompleteError } from "./event-store.js";

export interface EsdbEventStoreOptions {
  /** Told about transient subscription failures before the subscription resubscribes. */
  readonly onSubscriptionError?: (error: unknown) => void;
}

/**
 * The EventStoreDB adapter, over @eventstore/db-client. Appends use the server's expected-revision
 * check; positions are the server's (commit, prepare); system events (`$…`) never reach readers.
 */
export async function createEsdbEventStore<E extends AnyEvent = HeraldEvent>(
  connectionString: string,
  options: EsdbEventStoreOptions = {},
): Promise<EventStore<E>> {
  // Parsing happens here, so a malformed EVENTSTORE_URL fails at start-up; connecting is lazy.
  const client = EventStoreDBClient.connectionString(connectionString);
  const subscriptions = new Set<EsdbSubscription<AnyEvent>>();

  async function appendOne(request: AppendRequest<AnyEvent>): Promise<AppendOutcome> {
    if (request.events.length === 0) return emptyAppend(request);
    try {
      const result = await client.appendToStream(request.stream, request.events.map(toEsdbEvent), {
        expectedRevision: toEsdbRevision(request.expectedRevision),
      });
      if (!result.position) throw new Error(`EventStoreDB reported no position for an append to ${request.stream}`);
      const { commit, prepare } = result.position;
      return { ok: true, result: { nextRevision: result.nextExpectedRevision, position: { commit, prepare } } };
    } catch (error) {
      if (error instanceof EsdbWrongExpectedVersionError) {
        const wrong = new WrongExpectedVersionError(request.stream, request.expectedRevision, error.actualVersion, {
          cause: error,
        });
        return { ok: false, error: wrong };
      }
      throw translateError(error);
    }
  }

  /**
   * Appending nothing writes nothing, so there is nothing to make atomic: check the expectation
   * against the stream's last event, and answer as the PostgreSQL log does.
   */
  async function emptyAppend(request: AppendRequest<AnyEvent>): Promise<AppendOutcome> {
    const [last] = await readStream(request.stream, { direction: "backwards", maxCount: 1 });
    const actual = last?.revision ?? "no_stream";
    const expected = request.expectedRevision;
    if (!expectedRevisionHolds(expected, actual))
      return { ok: false, error: new WrongExpectedVersionError(request.stream, expected, actual) };
    return {
      ok: true,
      result: { nextRevision: last?.revision ?? -1n, position: last?.position ?? { commit: 0n, prepare: 0n } },
    };
  }

  /**
   * A check reads the fence stream's revision before anything is appended. Without a transaction
   * across streams a fenced write can still land between the read and the appends: the dispatch
   * auditor closes that window. A write needs nothing more than its own append.
   */
  async function checkFence(fence: AppendFence): Promise<void> {
    if (fence.expectedRevision === undefined) return;
    const [last] = await readStream(fence.stream, { direction: "backwards", maxCount: 1 });
    const actual = last?.revision ?? "no_stream";
    if (!expectedRevisionHolds(fence.expectedRevision, actual))
      throw new FenceMovedError(fence.stream, fence.expectedRevision, actual);
  }

  async function readStream(stream: string, readOptions: ReadStreamOptions = {}): Promise<StoredEvent<E>[]> {
    const backwards = readOptions.direction === "backwards";
    const events: StoredEvent<E>[] = [];
    try {
      const reading = client.readStream(stream, {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision: readOptions.fromRevision ?? (backwards ? END : "start"),
        ...(readOptions.maxCount === undefined ? {} : { maxCount: readOptions.maxCount }),
      });
      for await (const resolved of reading as AsyncIterable<ResolvedEvent>) {
        if (resolved.event) events.push(recordedAs<E>(toRecordedEvent(resolved.event)));
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw translateError(error);
    }
    return events;
  }

  /** One page of `$all` as the server sends it, system events included. */
  async function readAllPage(
    from: ReadFrom | "end",
    direction: "forwards" | "backwards",
    maxCount: number,
  ): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    try {
      const reading = client.readAll({
        fromPosition: toReadPosition(from),
        direction: direction === "forwards" ? FORWARDS : BACKWARDS,
        maxCount,
      });
      for await (const resolved of reading as AsyncIterable<AllStreamResolvedEvent>) {
        if (resolved.event) events.push(toRecordedEvent(resolved.event));
      }
    } catch (error) {
      throw translateError(error);
    }
    return events;
  }

  /**
   * The client's readAll takes no filter, so pages are filtered here. The server reads forwards
   * from a position inclusively, while the port's position is exclusive: events at or before
   * `from` are dropped (backwards, events at or after it, whatever the server does there).
   */
  async function readFiltered<F extends AnyEvent>(
    from: ReadFrom | ReadBefore,
    direction: "forwards" | "backwards",
    readOptions: ReadAllOptions,
  ): Promise<StoredEvent<F>[]> {
    const limit = readOptions.maxCount ?? 500;
    const sign = direction === "forwards" ? 1 : -1;
    const result: StoredEvent<F>[] = [];
    let cursor = from;
    while (result.length < limit) {
      const page = await readAllPage(cursor, direction, READ_ALL_PAGE);
      for (const event of page) {
        if (cursor !== "start" && cursor !== "end" && sign * comparePositions(event.position, cursor) <= 0) continue;
        cursor = event.position;
        if (isSystemEvent(event.stream, event.type) || !matchesFilter(readOptions.filter, event.stream, event.type))
          continue;
        result.push(recordedAs<F>(event));
        if (result.length === limit) break;
      }
      if (page.length < READ_ALL_PAGE) break;
    }
    return result;
  }

  /** One server page of `$all`, filtered here, cut after the `maxCount`-th event that passes. */
  async function readPage<T extends E["type"] = E["type"]>(
    from: ReadFrom,
    readOptions: ReadPageOptions<T> = {},
  ): Promise<LogPage<EventOfType<E, T>>> {
    const maxCount = readOptions.maxCount ?? 500;
    const events: StoredEvent<EventOfType<E, T>>[] = [];
    let position = from;
    for (const event of await readAllPage(from, "forwards", readOptions.scanLimit ?? 10 * maxCount)) {
      if (from !== "start" && comparePositions(event.position, from) <= 0) continue;
      position = event.position;
      if (!isSystemEvent(event.stream, event.type) && matchesFilter(readOptions.filter, event.stream, event.type))
        events.push(recordedAs<EventOfType<E, T>>(event));
      if (events.length === maxCount) break;
    }
    return { events, position };
  }

  /** Runs one stream's requests in order, streams side by side, at most APPEND_CONCURRENCY at once. */
  async function appendMany(
    requests: readonly AppendRequest<E>[],
    appendOptions: AppendManyOptions = {},
  ): Promise<AppendOutcome[]> {
    if (requests.length === 0) return [];
    if (appendOptions.fence) await checkFence(appendOptions.fence);
    const outcomes: (AppendOutcome | undefined)[] = new Array(requests.length).fill(undefined);
    const byStream = new Map<string, number[]>();
    requests.forEach((request, index) => {
      const indexes = byStream.get(request.stream) ?? [];
      indexes.push(index);
      byStream.set(request.stream, indexes);
    });
    const queues = [...byStream.values()];
    let failure: { error: unknown } | undefined;
    const worker = async () => {
      for (let queue = queues.shift(); queue && !failure; queue = queues.shift()) {
        for (const index of queue) {
          try {
            outcomes[index] = await appendOne(requests[index]!);
          } catch (error) {
            failure ??= { error };
            break;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(APPEND_CONCURRENCY, queues.length) }, worker));
    if (failure) throw new AppendManyIncompleteError(outcomes, { cause: failure.error });
    return outcomes as AppendOutcome[];
  }

  const store: EventStore<E> = {
    kind: "esdb",
    async append(stream, events, expectedRevision): Promise<AppendResult> {
      const outcome = await appendOne({ stream, events, expectedRevision });
      if (!outcome.ok) throw outcome.error;
      return outcome.result;
    },
    appendMany,
    readStream,
    readAll: <T extends E["type"]>(from: ReadFrom, readOptions: ReadAllOptions<T> = {}) =>
      readFiltered<EventOfType<E, T>>(from, "forwards", readOptions),
    readAllBackwards: <T extends E["type"]>(before: ReadBefore, readOptions: ReadAllOptions<T> = {}) =>
      readFiltered<EventOfType<E, T>>(before, "backwards", readOptions),
    readPage,
    subscribeAll<T extends E["type"]>(from: ReadFrom, subscribeOptions: { readonly filter?: EventFilter<T> } = {}) {
      const subscription = new EsdbSubscription<EventOfType<E, T>>(client, from, {
        ...(subscribeOptions.filter ? { filter: subscribeOptions.filter } : {}),
        ...(options.onSubscriptionError ? { onError: options.onSubscriptionError } : {}),
        onClose: () => subscriptions.delete(subscription),
      });
      subscriptions.add(subscription);
      return subscription;
    },
    /** The newest event that is not a system event. */
    async headPosition(): Promise<ReadFrom> {
      const [newest] = await readFiltered("end", "backwards", { maxCount: 1 });
      return newest?.position ?? "start";
    },
    async ping() {
      await readAllPage("end", "backwards", 1);
    },
    async close() {
      await Promise.all([...subscriptions].map((subscription) => subscription.close()));
      await client.dispose();
    },
  };
  return store;
}

/** Unreachable-server errors become the port's EventStoreUnavailableError (callers retry those). */
function translateError(error: unknown): unknown {
  if (isTransientEsdbError(error)) {
    return new EventStoreUnavailableError(`EventStoreDB: ${(error as Error).message}`, { cause: error });
  }
  return error;
}
