import { type Kysely, sql } from "kysely";
import pino from "pino";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Database, Database as HeraldDatabase } from "../../src/adapters/db/database.js";
import type { HeraldTables } from "../../src/adapters/db/schema.js";
import type { AnyEvent, EventStore, NewEvent, StoredEvent } from "../../src/adapters/eventstore/event-store.js";
import { LogPump } from "../../src/adapters/eventstore/log-pump.js";
import { positionToJSON } from "../../src/adapters/eventstore/position.js";
import { readCheckpoint } from "../../src/projections/checkpoints.js";
import type { AnyProjection, Projection } from "../../src/projections/projection.js";
import { ProjectionGroup } from "../../src/projections/projection-group.js";
import { rebuildProjections } from "../../src/projections/rebuild.js";
import { useEventLogDatabase } from "../support/event-log-database.js";
import { rowsRead } from "../support/rows-read.js";

type CounterTables = {
  counter_totals: { name: string; total: number };
};

const metadata = { correlationId: "c", causationId: "c", actor: "test", at: "2026-11-24T00:00:00.000Z" };
const added = (name: string, amount: number): NewEvent<AnyEvent> => ({
  type: "Added",
  data: { name, amount },
  metadata,
});

/** A projection that sums `Added` events per name; `failOn` makes its handler throw for one amount. */
function counterProjection(options: { version?: number; failOn?: { amount: number; times: number } } = {}) {
  let failures = 0;
  const projection: Projection<AnyEvent> = {
    name: "counter",
    version: options.version ?? 1,
    eventTypes: ["Added"],
    async setup(db) {
      await db.schema
        .createTable("counter_totals")
        .ifNotExists()
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("total", "integer", (c) => c.notNull())
        .execute();
    },
    async teardown(db) {
      await db.schema.dropTable("counter_totals").ifExists().execute();
    },
    async handle(trx, event) {
      const { name, amount } = event.data as { name: string; amount: number };
      if (options.failOn && amount === options.failOn.amount && failures < options.failOn.times) {
        failures++;
        throw new Error("handler failed on purpose");
      }
      await trx
        .withTables<CounterTables>()
        .insertInto("counter_totals")
        .values({ name, total: amount })
        .onConflict((oc) => oc.column("name").doUpdateSet({ total: sql`counter_totals.total + ${amount}` }))
        .execute();
    },
  };
  return { projection, failures: () => failures };
}

/** A process's log pump and a projection group of one projection: what herald runs, in small. */
function oneProjection(options: {
  database: HeraldDatabase;
  store: EventStore<AnyEvent>;
  projection: AnyProjection<AnyEvent>;
  logger: pino.Logger;
  standbyRetryMs?: number;
}) {
  const pump = new LogPump({ store: options.store, logger: options.logger });
  const group = new ProjectionGroup({ ...options, pump, projections: [options.projection] });
  const member = group.members.get(options.projection.name)!;
  return {
    get state() {
      return member.state;
    },
    waitFor: (position: Parameters<typeof member.waitFor>[0], timeoutMs?: number) =>
      member.waitFor(position, timeoutMs),
    start() {
      pump.start();
      group.start();
    },
    async stop() {
      await group.stop();
      await pump.stop();
    },
  };
}

async function total(db: Kysely<HeraldTables>, name: string): Promise<number | undefined> {
  const row = await db
    .withTables<CounterTables>()
    .selectFrom("counter_totals")
    .select("total")
    .where("name", "=", name)
    .executeTakeFirst();
  return row?.total as number | undefined;
}

describe("projection group", () => {
  const log = useEventLogDatabase<AnyEvent>();
  let database: Database;
  let store: EventStore<AnyEvent>;
  const logs: string[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void logs.push(line) });

  beforeAll(() => {
    ({ database, store } = log);
  });
  beforeEach(async () => {
    await database.db.deleteFrom("herald_checkpoints").execute();
    await sql`drop table if exists counter_totals`.execute(database.db);
    logs.length = 0;
  });

  it("applies events with the checkpoint and resumes from it after a restart", async () => {
    const stream = `counter-${Date.now()}`;
    const { projection } = counterProjection();
    const first = oneProjection({ database, store, projection, logger });
    first.start();
    const written = await store.append(stream, [added("a", 1), added("a", 2)], "no_stream");
    await first.waitFor(written.position);
    expect(await total(database.db, "a")).toBe(3);
    await first.stop();

    // Appended while no runner runs: the next one picks up exactly there, neither losing nor repeating.
    const later = await store.append(stream, [added("a", 10)], 1n);
    const second = oneProjection({ database, store, projection, logger });
    second.start();
    await second.waitFor(later.position);
    expect(await total(database.db, "a")).toBe(13);
    const checkpoint = await readCheckpoint(database.db, "counter");
    expect(checkpoint && positionToJSON(checkpoint.position)).toBe(positionToJSON(later.position));
    await second.stop();
  });

  it("halts on a failing handler, logs the event, and never skips it", async () => {
    const { projection, failures } = counterProjection({ failOn: { amount: 7, times: 2 } });
    const runner = oneProjection({ database, store, projection, logger });
    runner.start();
    const written = await store.append(
      `counter-fail-${Date.now()}`,
      [added("b", 5), added("b", 7), added("b", 1)],
      "no_stream",
    );
    await runner.waitFor(written.position, 10_000);
    expect(failures()).toBe(2);
    // The batch was retried whole: each event counted exactly once.
    expect(await total(database.db, "b")).toBe(13);
    const failure = logs
      .map((line) => JSON.parse(line))
      .find((entry) => entry.msg === "projection halted on an event; retrying it");
    expect(failure).toMatchObject({
      projection: "counter",
      eventType: "Added",
      position: expect.stringMatching(/^\d+-\d+$/),
    });
    await runner.stop();
  });

  it("halts only the failing projection of a group: the others go on, and it catches up once its handler passes", async () => {
    const { projection } = counterProjection();
    const stream = `counter-isolated-${Date.now()}`;
    let failures = 0;
    const seen: number[] = [];
    const fragile: Projection<AnyEvent> = {
      name: "fragile",
      version: 1,
      eventTypes: ["Added"],
      async setup() {},
      async teardown() {},
      async handle(_trx, event) {
        const { amount } = event.data as { amount: number };
        if (event.stream !== stream) return;
        if (amount === 7 && failures < 3) {
          failures++;
          throw new Error("fragile failed on purpose");
        }
        seen.push(amount);
      },
    };
    const pump = new LogPump({ store, logger });
    const group = new ProjectionGroup({ database, store, pump, projections: [projection, fragile], logger });
    pump.start();
    group.start();
    try {
      const written = await store.append(stream, [added("i", 5), added("i", 7), added("i", 1)], "no_stream");
      await group.members.get("counter")!.waitFor(written.position, 10_000);
      expect(await total(database.db, "i")).toBe(13);
      await group.members.get("fragile")!.waitFor(written.position, 20_000);
      expect(failures).toBe(3);
      // Halted at the 7, never past it: each retry starts again from its checkpoint, before the 5.
      expect(seen.slice(-3)).toEqual([5, 7, 1]);
      expect(seen.filter((amount) => amount !== 5)).toEqual([7, 1]);
      expect(group.members.get("fragile")!.state).toBe("running");
      const halted = logs
        .map((line) => JSON.parse(line))
        .filter((entry) => entry.msg === "projection halted on an event; retrying it");
      // The group's transaction failed (not logged), then fragile alone (halted), then one retry (halted again).
      expect(halted.map((entry) => entry.projection)).toEqual(["fragile", "fragile"]);
    } finally {
      await group.stop();
      await pump.stop();
    }
  });

  it("lets one process run a projection while another stands by, and hands over when it stops", async () => {
    const { projection } = counterProjection();
    const leader = oneProjection({ database, store, projection, logger });
    const standby = oneProjection({ database, store, projection, logger, standbyRetryMs: 50 });
    leader.start();
    const written = await store.append(`counter-ha-${Date.now()}`, [added("c", 1)], "no_stream");
    await leader.waitFor(written.position);
    standby.start();
    await expect.poll(() => standby.state).toBe("standby");
    // A standby still gives read-your-writes: it reads the leader's checkpoint.
    await standby.waitFor(written.position);

    await leader.stop();
    const more = await store.append(`counter-ha2-${Date.now()}`, [added("c", 2)], "no_stream");
    await standby.waitFor(more.position, 10_000);
    expect(await total(database.db, "c")).toBe(3);
    await standby.stop();
  });

  it("rebuilds from the first event with progress, giving the same rows", async () => {
    const { projection } = counterProjection();
    const runner = oneProjection({ database, store, projection, logger });
    runner.start();
    const written = await store.append(`counter-rebuild-${Date.now()}`, [added("d", 4), added("d", 6)], "no_stream");
    await runner.waitFor(written.position);
    const before = await database.db
      .withTables<CounterTables>()
      .selectFrom("counter_totals")
      .selectAll()
      .orderBy("name")
      .execute();
    await runner.stop();

    const reported: number[] = [];
    const result = await rebuildProjections({
      database,
      store,
      projections: [projection],
      pageSize: 2,
      onProgress: (n) => reported.push(n),
    });
    const after = await database.db
      .withTables<CounterTables>()
      .selectFrom("counter_totals")
      .selectAll()
      .orderBy("name")
      .execute();
    expect(after).toEqual(before);
    expect(result.applied.get("counter")).toBeGreaterThanOrEqual(2);
    expect(reported.at(-1)).toBe(result.events);
  });

  it("rebuilds automatically when the projection's version changes", async () => {
    const v1 = counterProjection({ version: 1 }).projection;
    const runner = oneProjection({ database, store, projection: v1, logger });
    runner.start();
    const written = await store.append(`counter-version-${Date.now()}`, [added("e", 2)], "no_stream");
    await runner.waitFor(written.position);
    await runner.stop();
    await database.db.withTables<CounterTables>().updateTable("counter_totals").set({ total: 999 }).execute();

    const v2 = counterProjection({ version: 2 }).projection;
    const upgraded = oneProjection({ database, store, projection: v2, logger });
    upgraded.start();
    await expect.poll(() => upgraded.state, { interval: 10 }).toBe("running");
    await upgraded.waitFor(written.position, 10_000);
    expect(await total(database.db, "e")).toBe(2);
    expect((await readCheckpoint(database.db, "counter"))?.version).toBe(2);
    await upgraded.stop();
  });
});

describe("projection group behind a long stretch of events it does not handle", () => {
  // One connection, so that rowsRead sees every read the runner makes.
  const log = useEventLogDatabase<AnyEvent>({ max: 1 });
  const logger = pino({ level: "silent" });
  const OTHERS = 100_000;
  const other: NewEvent<AnyEvent> = { type: "SomethingElse", data: {}, metadata };

  /** Appends OTHERS events of a type the counter does not handle, in bulk; returns the last one's position. */
  async function appendOthers(store: EventStore<AnyEvent>, prefix: string): Promise<StoredEvent["position"]> {
    let last: StoredEvent["position"] | undefined;
    for (let batch = 0; batch < OTHERS / 5000; batch++) {
      const [outcome] = await store.appendMany([
        {
          stream: `${prefix}-${batch}`,
          events: Array.from({ length: 5000 }, () => other),
          expectedRevision: "no_stream",
        },
      ]);
      if (!outcome?.ok) throw new Error("bulk append refused");
      last = outcome.result.position;
    }
    return last!;
  }

  it(`given ${OTHERS.toLocaleString("en")} events of other types after its last event, then the next wake-up reads a bounded number of rows, not them all, and so does a restart`, {
    timeout: 240_000,
  }, async () => {
    const { database, store } = log;
    const { projection } = counterProjection();
    const stream = `counter-tail-${Date.now()}`;
    const runner = oneProjection({ database, store, projection, logger });
    runner.start();
    const first = await store.append(stream, [added("t", 1)], "no_stream");
    await runner.waitFor(first.position, 20_000);

    // Reading past them once is the one read that pays for them; the wake-up on the next event does not.
    await runner.waitFor(await appendOthers(store, `${stream}-live`), 60_000);
    const beforeWakeUp = await rowsRead(database.db, "herald_events");
    const second = await store.append(stream, [added("t", 2)], 0n);
    await runner.waitFor(second.position, 20_000);
    const wakeUp = (await rowsRead(database.db, "herald_events")) - beforeWakeUp;

    // Stopped after reading past another stretch: the stored checkpoint is past it too.
    await runner.waitFor(await appendOthers(store, `${stream}-stopped`), 60_000);
    await runner.stop();
    const beforeRestart = await rowsRead(database.db, "herald_events");
    const restarted = oneProjection({ database, store, projection, logger });
    restarted.start();
    const third = await store.append(stream, [added("t", 3)], 1n);
    await restarted.waitFor(third.position, 20_000);
    const restart = (await rowsRead(database.db, "herald_events")) - beforeRestart;
    await restarted.stop();

    console.log(JSON.stringify({ otherEvents: OTHERS, rowsReadByWakeUp: wakeUp, rowsReadByRestart: restart }));
    expect(wakeUp).toBeLessThan(1000);
    expect(restart).toBeLessThan(1000);
    expect(await total(database.db, "t")).toBe(6);
  });
});
