import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../../src/adapters/db/database.js";
import type { AppendedRequest, EventStore, Position } from "../../../src/adapters/eventstore/event-store.js";
import { LogPump } from "../../../src/adapters/eventstore/log-pump.js";
import { createLogger } from "../../../src/app/logger.js";
import type { SeenTenantEvent, Waiter } from "../../../src/app/waypoint/waiter.js";
import { WaypointMatcher } from "../../../src/app/waypoint/waypoint-matcher.js";
import type { TenantEvent } from "../../../src/domain/ingest-events.js";
import { rebuildProjections } from "../../../src/projections/rebuild.js";
import { findWalletGroup, walletGroupsProjection } from "../../../src/projections/wallet-groups.js";
import { countingReads } from "../../support/counting-reads.js";
import { useEventLogDatabase } from "../../support/event-log-database.js";
import { heldSubscriptions } from "../../support/held-subscriptions.js";
import { appendTenantEvents, tenantEventAppend } from "../../support/tenant-event-appends.js";
import { untilVisible } from "../../support/until-visible.js";

const WINDOW_S = 300;
const DAY_AGO = () => Date.now() - 86_400_000;

const connectionEvent = (walletId = randomUUID(), groupId = "acme"): TenantEvent => ({
  wallet_id: walletId,
  topic: "connections",
  group_id: groupId,
  payload: { connection_id: randomUUID(), state: "completed" },
});

/** The match if the matcher answers at once from its window, else undefined. */
function answeredFromWindow(matcher: WaypointMatcher, event: TenantEvent): TenantEvent | undefined {
  const { waiter, answers } = recordingWaiter(event, 0);
  matcher.wait(waiter)();
  return answers[0]?.event;
}

/** A waiter on the event's connection that records what answers it; `notBefore` as a look_back sets it. */
function recordingWaiter(event: TenantEvent, notBefore: number): { waiter: Waiter; answers: SeenTenantEvent[] } {
  const answers: SeenTenantEvent[] = [];
  const waiter: Waiter = {
    wait: {
      walletId: event.wallet_id,
      topic: "connections",
      field: "connection_id",
      fieldId: String(event.payload.connection_id),
      desiredState: "completed",
    },
    scope: { kind: "tenant", walletId: event.wallet_id },
    notBefore,
    answer: (seen) => void answers.push(seen),
    shutdown: () => {},
  };
  return { waiter, answers };
}

/** Appends the tenant event as an ingest does, returning what an ingest offers the matcher. */
async function ingest(store: EventStore, event: TenantEvent): Promise<AppendedRequest[]> {
  const request = tenantEventAppend(event, Date.now());
  const [outcome] = await store.appendMany([request]);
  if (!outcome?.ok) throw new Error("the tenant event append was refused");
  return [{ request, outcome }];
}

function positionOf(appended: readonly AppendedRequest[]): Position {
  const outcome = appended[0]?.outcome;
  if (!outcome?.ok) throw new Error("no committed append");
  return outcome.result.position;
}

describe("WaypointMatcher on the PostgreSQL event log", () => {
  const log = useEventLogDatabase({ max: 12 });
  let database: Database;
  let store: EventStore;
  const matchers: WaypointMatcher[] = [];
  const pumps: LogPump[] = [];
  const logger = createLogger("silent");

  const start = (over: EventStore = store) => {
    const pump = new LogPump({ store: over, logger });
    pumps.push(pump);
    pump.start();
    return WaypointMatcher.start({
      store: over,
      pump,
      logger,
      windowS: WINDOW_S,
      readWalletGroup: (walletId) => findWalletGroup(database.db, walletId),
    }).then((matcher) => {
      matchers.push(matcher);
      return matcher;
    });
  };

  beforeAll(() => {
    ({ database, store } = log);
  });
  afterAll(async () => {
    await Promise.all(matchers.map((matcher) => matcher.stop()));
    await Promise.all(pumps.map((pump) => pump.stop()));
  });

  it("given many tenant events older than the window, when it starts, then it reads only the window's and a page at most", async () => {
    const old = 8_000;
    const recent = Array.from({ length: 20 }, () => connectionEvent());
    await appendTenantEvents(store, old, DAY_AGO(), () => connectionEvent());
    await untilVisible(store, await appendTenantEvents(store, recent.length, Date.now(), (index) => recent[index]!));
    const counted = countingReads(store);
    const matcher = await start(counted.store);
    expect(matcher.windowSize).toBe(recent.length);
    expect(counted.eventsRead()).toBeLessThan(old / 4);
    for (const event of recent) expect(answeredFromWindow(matcher, event)).toEqual(event);
  });

  it("given appends racing its start-up, then every event is in the window exactly once: none missed between warm-up and live following", async () => {
    // What earlier tests left in the window, once all of it is visible (a marker of this test's own
    // becomes visible only after every older append).
    await untilVisible(store, await appendTenantEvents(store, 1, Date.now(), () => connectionEvent()));
    const baseline = (await start()).windowSize;
    const writers = 4;
    const perWriter = 400;
    const written: TenantEvent[] = [];
    const writing = Promise.all(
      Array.from({ length: writers }, async () => {
        for (let index = 0; index < perWriter; index++) {
          const event = connectionEvent();
          // One append per transaction, four at once: transactions commit out of position order.
          await store.appendMany([tenantEventAppend(event, Date.now())]);
          written.push(event);
        }
      }),
    );
    const racing: WaypointMatcher[] = [];
    const startAfter = async (count: number) => {
      await expect.poll(() => written.length, { interval: 20 }).toBeGreaterThanOrEqual(count);
      racing.push(await start());
    };
    await Promise.all([writing, startAfter(100), startAfter(700), startAfter(1300)]);
    // Appended after every other: once a matcher holds it, it has followed all of them, and a
    // duplicate would already be in its window.
    const marker = connectionEvent();
    await store.appendMany([tenantEventAppend(marker, Date.now())]);
    const expected = baseline + writers * perWriter + 1;
    for (const matcher of racing) {
      await expect.poll(() => answeredFromWindow(matcher, marker)).toBeDefined();
      expect(matcher.windowSize).toBe(expected);
      expect(written.filter((event) => answeredFromWindow(matcher, event) === undefined)).toEqual([]);
    }
  });

  it("knows a wallet's group from its window before the read model has it, and from the read model beyond the window", async () => {
    const longAgo = connectionEvent(randomUUID(), "globex");
    await appendTenantEvents(store, 1, DAY_AGO(), () => longAgo);
    const matcher = await start();
    // The read model has not applied the event yet, and the window never held it.
    expect(await matcher.groupOfWallet(longAgo.wallet_id)).toBeUndefined();

    const justNow = connectionEvent(randomUUID(), "initech");
    await appendTenantEvents(store, 1, Date.now(), () => justNow);
    await expect.poll(() => answeredFromWindow(matcher, justNow)).toBeDefined();
    expect(await matcher.groupOfWallet(justNow.wallet_id)).toBe("initech");

    await rebuildProjections({ database, store, projections: [walletGroupsProjection()] });
    expect(await matcher.groupOfWallet(longAgo.wallet_id)).toBe("globex");
    expect(await matcher.groupOfWallet(randomUUID())).toBeUndefined();
  });
  it("given its log reader held back, when this process ingests a tenant event, then the event answers its waiter at commit, and the reader's copy later answers nothing and enters the window no second time", async () => {
    const held = heldSubscriptions(store);
    const matcher = await start(held.store);
    const baseline = matcher.windowSize;
    const event = connectionEvent();
    const early = recordingWaiter(event, 0);
    matcher.wait(early.waiter);

    const appended = await ingest(store, event);
    matcher.offer(appended);
    expect(early.answers.map((seen) => seen.event)).toEqual([event]);
    expect(early.answers[0]?.position).toEqual(positionOf(appended));
    expect(matcher.windowSize).toBe(baseline + 1);
    matcher.offer(appended);
    expect(matcher.windowSize).toBe(baseline + 1);

    // Asked after the event arrived and without look_back: only an event yet to come may answer it.
    const late = recordingWaiter(event, Date.now() + 1);
    const cancelLate = matcher.wait(late.waiter);
    expect(late.answers).toEqual([]);

    held.release();
    const marker = connectionEvent();
    await store.appendMany([tenantEventAppend(marker, Date.now())]);
    await expect.poll(() => answeredFromWindow(matcher, marker)).toBeDefined();
    expect(late.answers).toEqual([]);
    expect(matcher.windowSize).toBe(baseline + 2);
    cancelLate();
  });

  it("given the reader brought a tenant event first, when this process offers it after, then it answers nothing and enters the window no second time", async () => {
    const matcher = await start();
    const event = connectionEvent();
    const appended = await ingest(store, event);
    await expect.poll(() => answeredFromWindow(matcher, event)).toBeDefined();
    const size = matcher.windowSize;
    const late = recordingWaiter(event, Date.now() + 1);
    const cancelLate = matcher.wait(late.waiter);

    matcher.offer(appended);
    expect(late.answers).toEqual([]);
    expect(matcher.windowSize).toBe(size);
    cancelLate();
  });

  it("given an event offered at commit, when an event with an earlier position arrives later through the reader, then the window holds both in position order and the older one answers a look_back", async () => {
    const held = heldSubscriptions(store);
    const matcher = await start(held.store);
    const walletId = randomUUID();
    const connectionId = randomUUID();
    const first: TenantEvent = {
      wallet_id: walletId,
      topic: "connections",
      group_id: "acme",
      payload: { connection_id: connectionId, state: "completed", n: 1 },
    };
    const second: TenantEvent = { ...first, payload: { ...first.payload, n: 2 } };
    // The first as another process ingests it (only the reader brings it), the second ingested here.
    await store.appendMany([tenantEventAppend(first, Date.now())]);
    matcher.offer(await ingest(store, second));
    const before = recordingWaiter(first, 0);
    matcher.wait(before.waiter);
    expect(before.answers.map((seen) => seen.event)).toEqual([second]);

    held.release();
    const marker = connectionEvent();
    await store.appendMany([tenantEventAppend(marker, Date.now())]);
    await expect.poll(() => answeredFromWindow(matcher, marker)).toBeDefined();
    const after = recordingWaiter(first, 0);
    matcher.wait(after.waiter);
    expect(after.answers.map((seen) => seen.event)).toEqual([first]);
  });
});
