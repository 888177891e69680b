import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type AnyEvent,
  type EventFilter,
  type EventStore,
  FenceMovedError,
  type LogPage,
  type NewEvent,
  type ReadBefore,
  type ReadFrom,
  type StoredEvent,
  WrongExpectedVersionError,
} from "../../../src/adapters/eventstore/event-store.js";
import { comparePositions } from "../../../src/adapters/eventstore/position.js";
import { untilVisible } from "../../support/until-visible.js";

export interface ContractTarget {
  readonly store: EventStore<AnyEvent>;
  cleanup(): Promise<void>;
}

export interface ContractOptions {
  /** How many times the concurrent-writers test repeats (the foundation issue asks for 20 on PostgreSQL). */
  readonly orderingRuns?: number;
}

const metadata = { correlationId: "c-1", causationId: "c-1", actor: "test", at: "2026-11-24T00:00:00.000Z" };

function events(count: number, type = "Happened"): NewEvent<AnyEvent>[] {
  return Array.from({ length: count }, (_, index) => ({ type, data: { index }, metadata }));
}

/**
 * The contract every EventStore adapter passes. Each test works in streams of its own (a random
 * prefix), so the suite needs no empty store and never touches data it did not write.
 */
export function describeEventStoreContract(
  name: string,
  open: () => Promise<ContractTarget>,
  options: ContractOptions = {},
): void {
  describe(`event store contract: ${name}`, () => {
    let target: ContractTarget;
    let store: EventStore<AnyEvent>;
    let prefix: string;

    beforeAll(async () => {
      target = await open();
      store = target.store;
    });
    afterAll(async () => {
      await target?.cleanup();
    });

    function stream(kind = "s"): string {
      prefix = `t${randomUUID().replaceAll("-", "")}`;
      return `${prefix}-${kind}`;
    }

    it("appends to a new stream with revisions from 0 and reads it back in order", async () => {
      const name = stream();
      const result = await store.append(name, events(3), "no_stream");
      expect(result.nextRevision).toBe(2n);
      const read = await store.readStream(name);
      expect(read.map((event) => event.revision)).toEqual([0n, 1n, 2n]);
      expect(read.map((event) => event.data)).toEqual([{ index: 0 }, { index: 1 }, { index: 2 }]);
      expect(read[0]?.metadata).toEqual(metadata);
      expect(read[0]?.stream).toBe(name);
      expect(comparePositions(read[2]!.position, result.position)).toBe(0);
    });

    it("keeps the event ids it was given", async () => {
      const name = stream();
      const id = randomUUID();
      await store.append(name, [{ id, type: "Happened", data: {}, metadata }], "any");
      const [read] = await store.readStream(name);
      expect(read?.id).toBe(id);
    });

    it("reads a missing stream as empty", async () => {
      expect(await store.readStream(stream("missing"))).toEqual([]);
    });

    it("reads backwards, from a revision, and at most maxCount", async () => {
      const name = stream();
      await store.append(name, events(5), "no_stream");
      const backwards = await store.readStream(name, { direction: "backwards", maxCount: 2 });
      expect(backwards.map((event) => event.revision)).toEqual([4n, 3n]);
      const from = await store.readStream(name, { fromRevision: 3n });
      expect(from.map((event) => event.revision)).toEqual([3n, 4n]);
      const backFrom = await store.readStream(name, { direction: "backwards", fromRevision: 1n });
      expect(backFrom.map((event) => event.revision)).toEqual([1n, 0n]);
    });

    it("refuses no_stream on an existing stream, naming the actual revision", async () => {
      const name = stream();
      await store.append(name, events(2), "no_stream");
      const error = await store.append(name, events(1), "no_stream").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WrongExpectedVersionError);
      expect((error as WrongExpectedVersionError).actual).toBe(1n);
      expect(await store.readStream(name)).toHaveLength(2);
    });

    it("checks exact revisions", async () => {
      const name = stream();
      await store.append(name, events(2), "no_stream");
      await expect(store.append(name, events(1), 0n)).rejects.toBeInstanceOf(WrongExpectedVersionError);
      const result = await store.append(name, events(1), 1n);
      expect(result.nextRevision).toBe(2n);
      const missing = await store.append(stream("missing"), events(1), 0n).catch((e: unknown) => e);
      expect((missing as WrongExpectedVersionError).actual).toBe("no_stream");
    });

    it("checks stream_exists and accepts any", async () => {
      const name = stream();
      await expect(store.append(name, events(1), "stream_exists")).rejects.toBeInstanceOf(WrongExpectedVersionError);
      await store.append(name, events(1), "any");
      await store.append(name, events(1), "any");
      const result = await store.append(name, events(1), "stream_exists");
      expect(result.nextRevision).toBe(2n);
    });

    it("lets exactly one of two racing no_stream appends win", async () => {
      const name = stream();
      const outcomes = await Promise.allSettled([
        store.append(name, events(1), "no_stream"),
        store.append(name, events(1), "no_stream"),
      ]);
      expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
      const rejected = outcomes.find((outcome) => outcome.status === "rejected");
      expect((rejected as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
      expect(await store.readStream(name)).toHaveLength(1);
    });

    it("appends to many streams, each request succeeding or failing on its own", async () => {
      const a = stream("a");
      const b = `${prefix}-b`;
      await store.append(b, events(1), "no_stream");
      const outcomes = await store.appendMany([
        { stream: a, events: events(2), expectedRevision: "no_stream" },
        { stream: b, events: events(1), expectedRevision: "no_stream" },
        { stream: b, events: events(1), expectedRevision: 0n },
      ]);
      expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, false, true]);
      const readA = await store.readStream(a);
      const readB = await store.readStream(b);
      expect(readA).toHaveLength(2);
      expect(readB).toHaveLength(2);
      // Each request's position is its last event's as readers see it: the SSE matcher tells an
      // event offered at commit from the same event read from the log by it.
      const positions = outcomes.map((outcome) => (outcome.ok ? outcome.result.position : undefined));
      expect(comparePositions(positions[0]!, readA[1]!.position)).toBe(0);
      expect(comparePositions(positions[2]!, readB[1]!.position)).toBe(0);
    });

    it("applies a batch's requests to one stream in order, and a refused first append leaves no stream", async () => {
      const name = stream("batch");
      const missing = stream("missing");
      const outcomes = await store.appendMany([
        { stream: name, events: events(2), expectedRevision: "no_stream" },
        { stream: name, events: events(1), expectedRevision: 1n },
        { stream: name, events: events(1), expectedRevision: 1n },
        { stream: missing, events: events(1), expectedRevision: 0n },
        { stream: name, events: events(1), expectedRevision: "stream_exists" },
      ]);
      expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, true, false, false, true]);
      expect((await store.readStream(name)).map((event) => event.revision)).toEqual([0n, 1n, 2n, 3n]);
      expect(await store.readStream(missing)).toEqual([]);
      await store.append(missing, events(1), "no_stream");
      expect(await store.readStream(missing)).toHaveLength(1);
    });

    it("runs concurrent batches over the same streams in opposite orders to the end (no deadlock, no lost revision)", async () => {
      const names = Array.from({ length: 6 }, (_, index) =>
        index === 0 ? stream(`n${index}`) : `${prefix}-n${index}`,
      );
      const batches = Array.from({ length: 12 }, (_, batch) =>
        (batch % 2 === 0 ? names : [...names].reverse()).map((name) => ({
          stream: name,
          events: events(2),
          expectedRevision: "any" as const,
        })),
      );
      const outcomes = await Promise.all(batches.map((requests) => store.appendMany(requests)));
      expect(outcomes.flat().every((outcome) => outcome.ok)).toBe(true);
      for (const name of names) {
        expect((await store.readStream(name)).map((event) => event.revision)).toEqual(
          Array.from({ length: 24 }, (_, index) => BigInt(index)),
        );
      }
    });

    it("refuses a whole appendMany whose fence check fails, writing nothing", async () => {
      const fence = stream("fence");
      const target = `${prefix}-target`;
      const missingFence = `${prefix}-missing-fence`;
      await store.append(fence, events(1), "no_stream");
      const request = { stream: target, events: events(1), expectedRevision: "no_stream" as const };
      const moved = await store
        .appendMany([request], { fence: { stream: fence, expectedRevision: 5n } })
        .catch((e: unknown) => e);
      expect(moved).toBeInstanceOf(FenceMovedError);
      expect(moved).toMatchObject({ stream: fence, expected: 5n, actual: 0n });
      const created = await store
        .appendMany([request], { fence: { stream: fence, expectedRevision: "no_stream" } })
        .catch((e: unknown) => e);
      expect(created).toMatchObject({ code: "FENCE_MOVED", actual: 0n });
      const missing = await store
        .appendMany([request], { fence: { stream: missingFence, expectedRevision: 0n } })
        .catch((e: unknown) => e);
      expect(missing).toMatchObject({ code: "FENCE_MOVED", actual: "no_stream" });
      expect(await store.readStream(target)).toEqual([]);
      expect(await store.readStream(fence)).toHaveLength(1);
    });

    it("appends under a fence check at the fence's revision, no_stream included", async () => {
      const fence = stream("fence");
      const target = `${prefix}-target`;
      const first = await store.appendMany([{ stream: target, events: events(1), expectedRevision: "no_stream" }], {
        fence: { stream: fence, expectedRevision: "no_stream" },
      });
      expect(first.map((outcome) => outcome.ok)).toEqual([true]);
      await store.append(fence, events(2), "no_stream");
      const second = await store.appendMany([{ stream: target, events: events(1), expectedRevision: 0n }], {
        fence: { stream: fence, expectedRevision: 1n },
      });
      expect(second.map((outcome) => outcome.ok)).toEqual([true]);
      expect(await store.readStream(target)).toHaveLength(2);
    });

    it("moves the fence with a fenced write, so that a check at the old revision fails", async () => {
      const fence = stream("fence");
      const target = `${prefix}-target`;
      await store.append(fence, events(1), "no_stream");
      const written = await store.appendMany(
        [
          { stream: fence, events: events(1, "FenceMoved"), expectedRevision: 0n },
          { stream: target, events: events(1), expectedRevision: "no_stream" },
        ],
        { fence: { stream: fence } },
      );
      expect(written.map((outcome) => outcome.ok)).toEqual([true, true]);
      const stale = await store
        .appendMany([{ stream: target, events: events(1), expectedRevision: 0n }], {
          fence: { stream: fence, expectedRevision: 0n },
        })
        .catch((e: unknown) => e);
      expect(stale).toMatchObject({ code: "FENCE_MOVED", actual: 1n });
      const current = await store.appendMany([{ stream: target, events: events(1), expectedRevision: 0n }], {
        fence: { stream: fence, expectedRevision: 1n },
      });
      expect(current.map((outcome) => outcome.ok)).toEqual([true]);
    });

    it("reads the global log in position order, exclusive of the starting position", async () => {
      const a = stream("a");
      const b = `${prefix}-b`;
      await store.append(a, events(2, "First"), "no_stream");
      await store.append(b, events(2, "Second"), "no_stream");
      const all = await readAtLeast(store, 4, { streamPrefixes: [prefix] });
      expect(all.map((event) => `${event.stream}:${event.revision}`)).toEqual([`${a}:0`, `${a}:1`, `${b}:0`, `${b}:1`]);
      assertIncreasing(all);
      const after = await store.readAll(all[1]!.position, { filter: { streamPrefixes: [prefix] } });
      expect(after.map((event) => event.stream)).toEqual([b, b]);
      const limited = await store.readAll("start", { filter: { streamPrefixes: [prefix] }, maxCount: 3 });
      expect(limited).toHaveLength(3);
    });

    it("reads the global log backwards, newest first, exclusive of the position it reads back from", async () => {
      const a = stream("a");
      const b = `${prefix}-b`;
      await store.append(a, events(2, "First"), "no_stream");
      await store.append(b, events(2, "Second"), "no_stream");
      const filter = { streamPrefixes: [prefix] };
      const forwards = await readAtLeast(store, 4, filter);
      const backwards = await store.readAllBackwards("end", { filter });
      expect(backwards).toEqual([...forwards].reverse());
      const before = await store.readAllBackwards(forwards[2]!.position, { filter });
      expect(before.map((event) => `${event.stream}:${event.revision}`)).toEqual([`${a}:1`, `${a}:0`]);
      expect(await store.readAllBackwards("end", { filter, maxCount: 3 })).toEqual(backwards.slice(0, 3));
      const byType = await store.readAllBackwards("end", { filter: { ...filter, eventTypes: ["First"] } });
      expect(byType.map((event) => `${event.stream}:${event.revision}`)).toEqual([`${a}:1`, `${a}:0`]);
      const paged: StoredEvent<AnyEvent>[] = [];
      for (let cursor: ReadBefore = "end"; ; ) {
        const page: StoredEvent<AnyEvent>[] = await store.readAllBackwards(cursor, { filter, maxCount: 1 });
        const last = page.at(-1);
        if (!last) break;
        paged.push(...page);
        cursor = last.position;
      }
      expect(paged).toEqual(backwards);
    });

    it("reads backwards from the head: the newest event first", async () => {
      const name = stream();
      const result = await store.append(name, events(1), "no_stream");
      await untilVisible(store, result.position);
      const newest = await store.readAllBackwards("end", { maxCount: 1 });
      expect(newest).toHaveLength(1);
      expect(comparePositions(newest[0]!.position, await store.headPosition())).toBeLessThanOrEqual(0);
      expect(comparePositions(newest[0]!.position, result.position)).toBeGreaterThanOrEqual(0);
    });

    it("filters by event type and by stream prefix", async () => {
      const a = stream("a");
      const type = `Only${randomUUID().slice(0, 8)}`;
      await store.append(a, [...events(1, "Other"), ...events(2, type)], "no_stream");
      const byType = await readAtLeast(store, 2, { eventTypes: [type] });
      expect(byType.map((event) => event.type)).toEqual([type, type]);
      const byPrefix = await readAtLeast(store, 3, { streamPrefixes: [`${prefix}-a`] });
      expect(byPrefix).toHaveLength(3);
      const none = await store.readAll("start", { filter: { streamPrefixes: [`${prefix}-zzz`] } });
      expect(none).toEqual([]);
    });

    it("reads a page with a bounded look: the events that pass the filter (at most maxCount), and how far it looked", async () => {
      const name = stream();
      const rare = `Rare${randomUUID().slice(0, 8)}`;
      const before = await store.append(name, events(1, "Other"), "no_stream");
      const written = await store.append(name, [...events(10, "Other"), ...events(1, rare)], 0n);
      await untilVisible(store, written.position);
      const filter = { eventTypes: [rare] };
      const first = await store.readPage(before.position, { filter, scanLimit: 4 });
      expect(first.events).toEqual([]);
      expect(comparePositions(first.position, before.position)).toBeGreaterThan(0);
      const found: StoredEvent<AnyEvent>[] = [];
      let position: ReadFrom = first.position;
      for (let pages = 0; found.length === 0 && pages < 20; pages++) {
        const page = await store.readPage(position, { filter, scanLimit: 4 });
        expect(comparePositions(page.position, position)).toBeGreaterThan(0);
        found.push(...page.events);
        position = page.position;
      }
      expect(found.map((event) => [event.stream, event.type, event.revision])).toEqual([[name, rare, 11n]]);
      // Cut after maxCount events that pass, at the last of them.
      const cut = await store.readPage(before.position, {
        filter: { streamPrefixes: [name] },
        maxCount: 3,
        scanLimit: 100,
      });
      expect(cut.events.map((event) => event.revision)).toEqual([1n, 2n, 3n]);
      expect(cut.position).toEqual(cut.events[2]!.position);
      const atHead = await store.readPage(await store.headPosition(), { filter });
      expect(atHead.events).toEqual([]);
      expect(atHead.position).toEqual(await store.headPosition());
    });

    it("moves a filtered subscription past the events it leaves out, and resuming from there skips nothing", async () => {
      const name = stream();
      const rare = `Rare${randomUUID().slice(0, 8)}`;
      const before = await store.append(name, events(1, "Other"), "no_stream");
      const subscription = store.subscribeAll(before.position, { filter: { eventTypes: [rare] } });
      // More than a filtered EventStoreDB subscription looks at between two checkpoints (32 by default).
      await store.append(name, events(100, "Other"), 0n);
      const passed: LogPage<AnyEvent> = await subscription.nextPage(10);
      expect(passed.events).toEqual([]);
      expect(comparePositions(passed.position, before.position)).toBeGreaterThan(0);
      await store.append(name, events(1, rare), 100n);
      const batch = await subscription.nextBatch(10);
      await subscription.close();
      expect(batch.map((event) => [event.type, event.revision])).toEqual([[rare, 101n]]);
      const resumed = store.subscribeAll(passed.position, { filter: { eventTypes: [rare] } });
      const again = await resumed.nextBatch(10);
      await resumed.close();
      expect(again.map((event) => [event.type, event.revision])).toEqual([[rare, 101n]]);
    });

    it("reports the head position", async () => {
      const name = stream();
      const result = await store.append(name, events(1), "no_stream");
      await expect
        .poll(async () => comparePositions(await store.headPosition(), result.position))
        .toBeGreaterThanOrEqual(0);
    });

    it("subscribes: catches up, then stays live", async () => {
      const name = stream();
      await store.append(name, events(3), "no_stream");
      const subscription = store.subscribeAll("start", { filter: { streamPrefixes: [prefix] } });
      const seen: StoredEvent<AnyEvent>[] = [];
      const reading = (async () => {
        for await (const event of subscription) {
          seen.push(event);
          if (seen.length === 5) break;
        }
      })();
      await expect.poll(() => seen.length).toBeGreaterThanOrEqual(3);
      await store.append(name, events(2), 2n);
      await reading;
      expect(seen.map((event) => event.revision)).toEqual([0n, 1n, 2n, 3n, 4n]);
      assertIncreasing(seen);
    });

    it("subscribes from a position, exclusive", async () => {
      const name = stream();
      const first = await store.append(name, events(2), "no_stream");
      await store.append(name, events(1), 1n);
      const subscription = store.subscribeAll(first.position, { filter: { streamPrefixes: [prefix] } });
      const batch = await subscription.nextBatch(10);
      await subscription.close();
      expect(batch.map((event) => event.revision)).toEqual([2n]);
    });

    const runs = options.orderingRuns ?? 1;
    it(`never lets a subscriber pass a late-committing event: 8 writers × 500 events, ${runs} run(s)`, {
      timeout: 600_000,
    }, async () => {
      for (let run = 0; run < runs; run++) {
        stream();
        const runPrefix = prefix;
        const subscription = store.subscribeAll("start", { filter: { streamPrefixes: [runPrefix] } });
        const received: StoredEvent<AnyEvent>[] = [];
        const reading = (async () => {
          while (received.length < 4000) received.push(...(await subscription.nextBatch(500)));
        })();
        await Promise.all(
          Array.from({ length: 8 }, async (_, writer) => {
            for (let index = 0; index < 500; index++) {
              await store.append(
                `${runPrefix}-w${writer}`,
                [{ type: "Written", data: { writer, index }, metadata }],
                "any",
              );
            }
          }),
        );
        await reading;
        await subscription.close();
        expect(new Set(received.map((event) => event.id)).size).toBe(4000);
        expect(received).toHaveLength(4000);
        assertIncreasing(received);
        for (let writer = 0; writer < 8; writer++) {
          const own = received.filter((event) => (event.data as { writer: number }).writer === writer);
          expect(own.map((event) => (event.data as { index: number }).index)).toEqual(
            Array.from({ length: 500 }, (_, i) => i),
          );
        }
      }
    });
  });
}

/**
 * Reads until `count` events are visible. An appended event becomes visible to global readers once
 * every transaction older than its own has ended (see postgres-event-store.ts), which on a busy
 * server can be a moment after the append returned.
 */
function readAtLeast(
  store: EventStore<AnyEvent>,
  count: number,
  filter: EventFilter,
): Promise<StoredEvent<AnyEvent>[]> {
  return vi.waitFor(
    async () => {
      const events = await store.readAll("start", { filter });
      if (events.length < count) throw new Error(`${events.length} of ${count} events visible`);
      return events;
    },
    { timeout: 5000, interval: 10 },
  );
}

function assertIncreasing(events: readonly StoredEvent<AnyEvent>[]): void {
  for (let index = 1; index < events.length; index++) {
    if (comparePositions(events[index - 1]!.position, events[index]!.position) >= 0) {
      throw new Error(`positions not strictly increasing at ${index}`);
    }
  }
}
