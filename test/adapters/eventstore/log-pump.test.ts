import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import type { AnyEvent, NewEvent, ReadFrom, StoredEvent } from "../../../src/adapters/eventstore/event-store.js";
import { type LogConsumer, LogPump, type PumpPage } from "../../../src/adapters/eventstore/log-pump.js";
import { comparePositions } from "../../../src/adapters/eventstore/position.js";
import { createLogger } from "../../../src/app/logger.js";
import { useEventLogDatabase } from "../../support/event-log-database.js";

const logger = createLogger("silent");
const metadata = { correlationId: "c", causationId: "c", actor: "test", at: "2026-11-30T00:00:00.000Z" };
const numbered = (type: string, n: number): NewEvent<AnyEvent> => ({ type, data: { n }, metadata });

/** A consumer that records every page it gets; `gate` holds its handling until opened. */
function recorder(name: string, options: { eventTypes?: string[]; failFirst?: boolean; lingerMs?: number } = {}) {
  const pages: PumpPage<AnyEvent>[] = [];
  let open: () => void = () => {};
  let gate: Promise<void> | undefined;
  let failures = options.failFirst ? 1 : 0;
  const consumer: LogConsumer<AnyEvent> = {
    name,
    ...(options.eventTypes ? { eventTypes: options.eventTypes } : {}),
    ...(options.lingerMs ? { lingerMs: options.lingerMs } : {}),
    async handle(page) {
      await gate;
      if (failures > 0) {
        failures--;
        throw new Error("failed on purpose");
      }
      pages.push(page);
    },
  };
  return {
    consumer,
    pages,
    numbers: () => pages.flatMap((page) => page.events.map((event) => (event.data as { n: number }).n)),
    hold: () => {
      gate = new Promise<void>((resolve) => {
        open = resolve;
      });
    },
    release: () => {
      gate = undefined;
      open();
    },
  };
}

describe("LogPump on the PostgreSQL event log", () => {
  const log = useEventLogDatabase<AnyEvent>();
  const pumps: LogPump<AnyEvent>[] = [];
  afterEach(async () => {
    await Promise.all(pumps.splice(0).map((pump) => pump.stop()));
  });

  const startPump = (options: { maxBacklog?: number; pageSize?: number; catchUpPageSize?: number } = {}) => {
    const pump = new LogPump<AnyEvent>({ store: log.store, logger, ...options });
    pumps.push(pump);
    pump.start();
    return pump;
  };

  /** Appends `count` events of `type`, one commit each, numbered from `first`; returns the last's position. */
  async function append(type: string, first: number, count: number): Promise<StoredEvent<AnyEvent>["position"]> {
    let last: StoredEvent<AnyEvent>["position"] | undefined;
    for (let n = first; n < first + count; n++) {
      last = (await log.store.append(`s-${type}-${n}`, [numbered(type, n)], "no_stream")).position;
    }
    if (!last) throw new Error("nothing appended");
    return last;
  }

  const range = (first: number, count: number) => Array.from({ length: count }, (_, i) => first + i);

  it("given a consumer stuck on a page, then a quick one still gets every later page, and the stuck one gets what piled up as one page, in order", async () => {
    const from: ReadFrom = await log.store.headPosition();
    const pump = startPump();
    const slow = recorder("slow", { eventTypes: ["Slow"] });
    const quick = recorder("quick", { eventTypes: ["Slow"] });
    pump.register(slow.consumer, from);
    pump.register(quick.consumer, from);

    await append("Slow", 0, 1);
    await expect.poll(() => slow.numbers()).toEqual([0]);
    slow.hold();
    await append("Slow", 1, 1);
    // The slow consumer now holds event 1; what follows must reach the quick one regardless.
    await expect.poll(() => quick.numbers()).toEqual([0, 1]);
    const last = await append("Slow", 2, 5);
    await expect.poll(() => quick.numbers()).toEqual(range(0, 7));
    expect(slow.numbers()).toEqual([0]);

    slow.release();
    await expect.poll(() => slow.numbers()).toEqual(range(0, 7));
    // Event 1 on its own page, then events 2–6 merged into one page that ends where the reader is.
    expect(slow.pages.map((page) => page.events.length)).toEqual([1, 1, 5]);
    expect(comparePositions(slow.pages.at(-1)!.position, last)).toBeGreaterThanOrEqual(0);
  });

  it("given a consumer's merged page is full, then the reader waits for it, and goes on once it takes the page", async () => {
    const from: ReadFrom = await log.store.headPosition();
    const pump = startPump({ maxBacklog: 3, pageSize: 1, catchUpPageSize: 1 });
    const slow = recorder("slow", { eventTypes: ["Full"] });
    const quick = recorder("quick", { eventTypes: ["Full"] });
    pump.register(slow.consumer, from);
    pump.register(quick.consumer, from);
    slow.hold();

    await append("Full", 0, 12);
    // Pages of one event: the slow consumer holds the first, its backlog takes three more, then the
    // reader stops. Waiting a while shows it stays stopped (the behaviour under test is that nothing
    // more is read): the quick consumer got no further than the events read up to that point.
    await expect.poll(() => quick.numbers().length).toBeGreaterThanOrEqual(4);
    await sleep(300);
    expect(quick.numbers().length).toBeLessThanOrEqual(5);

    slow.release();
    await expect.poll(() => quick.numbers()).toEqual(range(0, 12));
    await expect.poll(() => slow.numbers()).toEqual(range(0, 12));
  });

  it("given a consumer that fails on a page, then it gets that page again and misses nothing, while another goes on", async () => {
    const from: ReadFrom = await log.store.headPosition();
    const pump = startPump();
    const failing = recorder("failing", { eventTypes: ["Fail"], failFirst: true });
    const steady = recorder("steady", { eventTypes: ["Fail"] });
    pump.register(failing.consumer, from);
    pump.register(steady.consumer, from);

    await append("Fail", 0, 3);
    await expect.poll(() => steady.numbers()).toEqual(range(0, 3));
    await append("Fail", 3, 2);
    await expect.poll(() => failing.numbers()).toEqual(range(0, 5));
    expect(steady.numbers()).toEqual(range(0, 5));
  });

  it("given a consumer registered behind the reader, then the reader goes back for it and the others see nothing twice", async () => {
    const from: ReadFrom = await log.store.headPosition();
    const pump = startPump();
    const first = recorder("first", { eventTypes: ["Late"] });
    pump.register(first.consumer, from);
    await append("Late", 0, 4);
    await expect.poll(() => first.numbers()).toEqual(range(0, 4));

    const late = recorder("late", { eventTypes: ["Late"] });
    pump.register(late.consumer, from);
    await expect.poll(() => late.numbers()).toEqual(range(0, 4));
    await append("Late", 4, 1);
    await expect.poll(() => late.numbers()).toEqual(range(0, 5));
    await expect.poll(() => first.numbers()).toEqual(range(0, 5));
  });

  it("given a consumer that lingers, then a page arriving while it is idle comes at once, and what follows within the linger comes as one page", async () => {
    const from: ReadFrom = await log.store.headPosition();
    const pump = startPump();
    const lingering = recorder("lingering", { eventTypes: ["Linger"], lingerMs: 1_000 });
    const quick = recorder("quick", { eventTypes: ["Linger"] });
    pump.register(lingering.consumer, from);
    pump.register(quick.consumer, from);

    await append("Linger", 0, 1);
    await expect.poll(() => lingering.numbers()).toEqual([0]);
    await append("Linger", 1, 3);
    // The quick consumer has them all while the lingering one still waits out its linger.
    await expect.poll(() => quick.numbers()).toEqual(range(0, 4));
    expect(lingering.numbers()).toEqual([0]);
    await expect.poll(() => lingering.numbers()).toEqual(range(0, 4));
    expect(lingering.pages.map((page) => page.events.length)).toEqual([1, 3]);
  });
});
