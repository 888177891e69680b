import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { expect, it } from "vitest";
import type { ReadFrom } from "../../src/adapters/eventstore/event-store.js";
import type { TenantEvent } from "../../src/domain/ingest-events.js";
import { rebuildProjections } from "../../src/projections/rebuild.js";
import { findWalletGroup, walletGroupsProjection } from "../../src/projections/wallet-groups.js";
import { useEventLogDatabase } from "../support/event-log-database.js";
import { tenantEventAppend } from "../support/tenant-event-appends.js";
import { untilVisible } from "../support/until-visible.js";

const log = useEventLogDatabase();

it("keeps each wallet's newest group, in one batch or across many; an event without a group changes nothing", async () => {
  const [moved, stays, groupless] = [randomUUID(), randomUUID(), randomUUID()];
  const event = (walletId: string, groupId?: string): TenantEvent => ({
    wallet_id: walletId,
    topic: "connections",
    ...(groupId === undefined ? {} : { group_id: groupId }),
    payload: { state: "completed" },
  });
  const events = [
    event(moved, "acme"),
    event(stays, "initech"),
    event(moved, "globex"),
    event(moved),
    event(groupless),
  ];
  let last: ReadFrom = "start";
  for (const tenantEvent of events) {
    const [outcome] = await log.store.appendMany([tenantEventAppend(tenantEvent, Date.now())]);
    if (outcome?.ok) last = outcome.result.position;
  }
  await untilVisible(log.store, last);

  for (const batchSize of [1000, 1]) {
    const result = await rebuildProjections({
      database: log.database,
      store: log.store,
      projections: [walletGroupsProjection()],
      pageSize: batchSize,
    });
    expect(result.applied.get("wallet-groups")).toBe(events.length);
    const groups = await Promise.all(
      [moved, stays, groupless].map((walletId) => findWalletGroup(log.database.db, walletId)),
    );
    expect(groups).toEqual(["globex", "initech", undefined]);
  }
  // A wallet id that PostgreSQL text cannot hold (an SSE path may carry one) is simply unknown.
  expect(await findWalletGroup(log.database.db, "w\0")).toBeUndefined();
});

it("knows no wallet before any process has created its table", async () => {
  await walletGroupsProjection().teardown(log.database.db as Kysely<any>);
  expect(await findWalletGroup(log.database.db, randomUUID())).toBeUndefined();
});
