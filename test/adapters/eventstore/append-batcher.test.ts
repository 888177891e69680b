import { describe, expect, it } from "vitest";
import { openPostgres } from "../../../src/adapters/db/database.js";
import { migrate } from "../../../src/adapters/db/migrations.js";
import { AppendBatcher, batchedStore } from "../../../src/adapters/eventstore/append-batcher.js";
import { isPermanentAppendError } from "../../../src/adapters/eventstore/append-errors.js";
import {
  type AnyEvent,
  AppendManyIncompleteError,
  type AppendOutcome,
  type AppendRequest,
  type EventStore,
} from "../../../src/adapters/eventstore/event-store.js";
import { createPostgresEventStore } from "../../../src/adapters/eventstore/postgres-event-store.js";
import { useEventLogDatabase } from "../../support/event-log-database.js";
import { createTestDatabase } from "../../support/test-database.js";

const metadata = { correlationId: "c", causationId: "c", actor: "test", at: "2026-11-24T00:00:00.000Z" };
const request = (stream: string) => ({
  stream,
  events: [{ type: "A", data: {}, metadata }],
  expectedRevision: "any" as const,
});

it("when appendMany stops part way, the appends that were written resolve; only the others reject", async () => {
  const written: AppendOutcome = { ok: true, result: { nextRevision: 0n, position: { commit: 1n, prepare: 1n } } };
  const cause = new Error("server went away");
  const store = {
    appendMany: async () => {
      throw new AppendManyIncompleteError([written, undefined], { cause });
    },
  } as unknown as EventStore<AnyEvent>;
  const batcher = new AppendBatcher(store);
  const [first, second] = await Promise.allSettled([batcher.append(request("a")), batcher.append(request("b"))]);
  expect(first).toEqual({ status: "fulfilled", value: written });
  expect(second).toMatchObject({ status: "rejected", reason: { code: "APPEND_MANY_INCOMPLETE" } });
});

const written = (revision: bigint): AppendOutcome => ({
  ok: true,
  result: { nextRevision: revision, position: { commit: 1n, prepare: revision } },
});

it("isolates a request the store refuses for good: the batch is halved until it is alone, the others are written", async () => {
  const refused = Object.assign(new Error("invalid byte sequence"), { code: "22021" });
  const calls: string[][] = [];
  const store = {
    appendMany: async (requests: readonly AppendRequest[]) => {
      calls.push(requests.map((entry) => entry.stream));
      if (requests.some((entry) => entry.stream === "bad")) throw refused;
      return requests.map(() => written(0n));
    },
  } as unknown as EventStore<AnyEvent>;
  const batcher = new AppendBatcher(store);
  const streams = ["a", "b", "bad", "c", "d"];
  const settled = await Promise.allSettled(streams.map((stream) => batcher.append(request(stream))));
  expect(settled.map((result) => result.status)).toEqual([
    "fulfilled",
    "fulfilled",
    "rejected",
    "fulfilled",
    "fulfilled",
  ]);
  expect((settled[2] as PromiseRejectedResult).reason).toBe(refused);
  expect(calls[0]).toEqual(streams);
  // Every request was written exactly once.
  expect(
    calls
      .filter((call) => !call.includes("bad"))
      .flat()
      .sort(),
  ).toEqual(["a", "b", "c", "d"]);
});

it("keeps two batches in flight, holding back a request whose stream is in one of them until it is written", async () => {
  const calls: { streams: string[]; release: () => void }[] = [];
  const store = {
    appendMany: (requests: readonly AppendRequest[]) =>
      new Promise<AppendOutcome[]>((resolve) => {
        calls.push({
          streams: requests.map((entry) => entry.stream),
          release: () => resolve(requests.map(() => written(0n))),
        });
      }),
  } as unknown as EventStore<AnyEvent>;
  const batcher = new AppendBatcher(store);
  const first = batcher.append(request("s1"));
  await expect.poll(() => calls.length).toBe(1);
  const second = batcher.append(request("s2"));
  const third = batcher.append(request("s1"));
  await expect.poll(() => calls.length).toBe(2);
  expect(calls.map((call) => call.streams)).toEqual([["s1"], ["s2"]]);
  calls[1]!.release();
  await second;
  // s1's batch is still in flight: its next request waits for it.
  expect(calls).toHaveLength(2);
  calls[0]!.release();
  await first;
  await expect.poll(() => calls.length).toBe(3);
  expect(calls[2]!.streams).toEqual(["s1"]);
  calls[2]!.release();
  await third;
  await batcher.drain();
});

it("on PostgreSQL, writes the rest of a shared batch when the store refuses one request's data", async () => {
  const testDatabase = await createTestDatabase();
  const database = await openPostgres(testDatabase.url);
  try {
    await migrate(database.db);
    const store = await createPostgresEventStore<AnyEvent>(database);
    const batcher = new AppendBatcher(store);
    // jsonb holds no NUL character: PostgreSQL refuses that request for good (SQLSTATE 22P05).
    const nul = {
      stream: "nul",
      events: [{ type: "A", data: { text: "a\u0000b" }, metadata }],
      expectedRevision: "no_stream" as const,
    };
    const settled = await Promise.allSettled([
      batcher.append(request("a")),
      batcher.append(nul),
      batcher.append(request("b")),
    ]);
    expect(settled.map((result) => result.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(isPermanentAppendError((settled[1] as PromiseRejectedResult).reason)).toBe(true);
    for (const stream of ["a", "b"]) expect(await store.readStream(stream)).toHaveLength(1);
    expect(await store.readStream("nul")).toEqual([]);
    await store.close();
  } finally {
    await database.close();
    await testDatabase.drop();
  }
});

describe("one batcher shared by the process (PostgreSQL)", () => {
  const log = useEventLogDatabase<AnyEvent>();
  /** The real store, counting the appendMany calls that reach it and what each carried. */
  const counted = () => {
    const calls: { streams: string[]; fenced: boolean }[] = [];
    const store: EventStore<AnyEvent> = {
      ...log.store,
      appendMany: (requests, options) => {
        calls.push({ streams: requests.map((entry) => entry.stream), fenced: options?.fence !== undefined });
        return log.store.appendMany(requests, options);
      },
    };
    return { calls, store };
  };

  it("writes two callers' concurrent appends (one through the batcher, one through batchedStore) in one appendMany", async () => {
    const { calls, store } = counted();
    const batcher = new AppendBatcher(store);
    const viaStore = batchedStore(store, batcher);
    const [worker, reactor, command] = await Promise.all([
      batcher.append(request("shared-worker")),
      viaStore.appendMany([request("shared-reactor")]),
      viaStore.append("shared-command", request("x").events, "no_stream"),
    ]);
    expect(worker.ok).toBe(true);
    expect(reactor.map((outcome) => outcome.ok)).toEqual([true]);
    expect(command.nextRevision).toBe(0n);
    expect(calls).toEqual([{ streams: ["shared-worker", "shared-reactor", "shared-command"], fenced: false }]);
    for (const stream of ["shared-worker", "shared-reactor", "shared-command"])
      expect(await log.store.readStream(stream)).toHaveLength(1);
  });

  it("sends a fenced appendMany to the store as it came, not into a shared batch", async () => {
    const { calls, store } = counted();
    const batcher = new AppendBatcher(store);
    const viaStore = batchedStore(store, batcher);
    const [, fenced] = await Promise.all([
      batcher.append(request("beside-fence")),
      viaStore.appendMany([request("fenced-a"), request("fence-stream")], { fence: { stream: "fence-stream" } }),
    ]);
    expect(fenced.map((outcome) => outcome.ok)).toEqual([true, true]);
    expect(calls).toContainEqual({ streams: ["fenced-a", "fence-stream"], fenced: true });
    expect(calls).toContainEqual({ streams: ["beside-fence"], fenced: false });
    expect(calls).toHaveLength(2);
  });

  it("answers a partly refused appendMany as EventStoreDB does: AppendManyIncompleteError with the outcomes written", async () => {
    const viaStore = batchedStore(log.store, new AppendBatcher(log.store));
    const nul = {
      stream: "refused-nul",
      events: [{ type: "A", data: { text: "a\u0000b" }, metadata }],
      expectedRevision: "no_stream" as const,
    };
    const error = await viaStore.appendMany([request("beside-nul"), nul]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AppendManyIncompleteError);
    expect(isPermanentAppendError(error)).toBe(true);
    expect((error as AppendManyIncompleteError).outcomes.map((outcome) => outcome?.ok)).toEqual([true, undefined]);
    expect(await log.store.readStream("beside-nul")).toHaveLength(1);
  });
});
