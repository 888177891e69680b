import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../../src/adapters/db/database.js";
import type { EventStore } from "../../../src/adapters/eventstore/event-store.js";
import { createLogger } from "../../../src/app/logger.js";
import type { Waiter } from "../../../src/app/waypoint/waiter.js";
import { WaypointMatcher } from "../../../src/app/waypoint/waypoint-matcher.js";
import type { TenantEvent } from "../../../src/domain/ingest-events.js";
import { rebuildProjections } from "../../../src/projections/rebuild.js";
import { findWalletGroup, walletGroupsProjection } from "../../../src/projections/wallet-groups.js";
import { countingReads } from "../../support/counting-reads.js";
import { appendTenantEvents, tenantEventAppend } from "../../support/tenant-event-appends.js";
import { useEventLogDatabase } from "../../support/event-log-database.js";
import { untilVisible } from "../../support/until-visible.js";

const WINDOW_S = 300;
const DAY_AGO = () => Date.now() - 86_400_000;

const connectionEvent = (walletId = randomUUID(), groupId = "acme"): TenantEvent => ({
  wallet_id: walletId,
  topic: "connections",
  group_id: groupId,
  payload: { connection_id: randomUUID(), state: "completed" },
});

/** Resolves with the match if the matcher answers at once from its window, else undefined. */
function answeredFromWindow(matcher: WaypointMatcher, event: TenantEvent): TenantEvent | undefined {
  let match: TenantEvent | undefined;
  const waiter: Waiter = {
    wait: { walletId: event.wallet_id, topic: "connections", field: "connection_id", fieldId: String(event.payload.connection_id), desiredState: "completed" },
    scope: { kind: "tenant", walletId: event.wallet_id },
    notBefore: 0,
    answer: (seen) => void (match = seen.event),
    shutdown: () => {},
  };
  matcher.wait(waiter)();
  return match;
}

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("WaypointMatcher on the PostgreSQL event log", () => {
  const log = useEventLogDatabase({ max: 12 });
  let database: Database;
  let store: EventStore;
  const matchers: WaypointMatcher[] = [];
  const logger = createLogger("silent");

  const start = (over: EventStore = store) =>
    WaypointMatcher.start({ store: over, logger, windowS: WINDOW_S, readWalletGroup: (walletId) => findWalletGroup(database.db, walletId) }).then(
      (matcher) => (matchers.push(matcher), matcher),
    );

  beforeAll(() => {
    ({ database, store } = log);
  });
  afterAll(async () => {
    await Promise.all(matchers.map((matcher) => matcher.stop()));
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
      await until(() => written.length >= count, `${count} appends`);
      racing.push(await start());
    };
    await Promise.all([writing, startAfter(100), startAfter(700), startAfter(1300)]);
    const expected = baseline + writers * perWriter;
    for (const matcher of racing) {
      await until(() => matcher.windowSize >= expected, "the matcher to follow every append");
      await new Promise((resolve) => setTimeout(resolve, 200));
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
    await until(() => answeredFromWindow(matcher, justNow) !== undefined, "the matcher to see the new event");
    expect(await matcher.groupOfWallet(justNow.wallet_id)).toBe("initech");

    await rebuildProjections({ database, store, projections: [walletGroupsProjection()] });
    expect(await matcher.groupOfWallet(longAgo.wallet_id)).toBe("globex");
    expect(await matcher.groupOfWallet(randomUUID())).toBeUndefined();
  });
});
