import pino from "pino";
import { expect, it } from "vitest";
import {
  AppendManyIncompleteError,
  type AppendRequest,
  type EventStore,
  type ReadFrom,
} from "../../src/adapters/eventstore/event-store.js";
import type { AnyProjection } from "../../src/projections/projection.js";
import { applyBatch } from "../../src/projections/projection-batch.js";
import { dispatcherProjection } from "../../src/reactions/dispatch-auditor.js";
import { dispatchEvents } from "../support/dispatch-events.js";
import { useEventLogDatabase } from "../support/event-log-database.js";

/**
 * A batch whose appends fail is applied again from its checkpoint. Its table changes were rolled
 * back, and so must be the dispatcher's in-memory index: a transaction must not be scheduled for a
 * subscription created after it in the same batch.
 */
const log = useEventLogDatabase();

it("retrying a batch whose appends failed part way schedules exactly what the first try would have", async () => {
  const appended: AppendRequest[][] = [];
  let failures = 1;
  const store = {
    async appendMany(requests: readonly AppendRequest[]) {
      // The auditor's revision checks (no events) find no stream; its appends are recorded, the first one fails.
      if (requests.every((request) => request.events.length === 0))
        return requests.map(() => ({ ok: true, result: { nextRevision: -1n, position: { commit: 0n, prepare: 0n } } }));
      appended.push([...requests]);
      if (failures-- > 0)
        throw new AppendManyIncompleteError(
          requests.map(() => undefined),
          { cause: new Error("server went away") },
        );
      return requests.map(() => ({ ok: true, result: { nextRevision: 0n, position: { commit: 1n, prepare: 1n } } }));
    },
  } as unknown as EventStore;
  const projection: AnyProjection = dispatcherProjection({ store, logger: pino({ level: "silent" }) });
  await projection.setup(log.database.db);

  const { subscription, transaction } = dispatchEvents();
  const batch = [
    subscription("00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-0000000000a1"),
    transaction("t1"),
    // Created after the transaction: it must not get it, on the first try or the retry.
    subscription("00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-0000000000a2"),
  ];
  const from: ReadFrom = "start";

  await expect(applyBatch(log.database.db, projection, from, batch)).rejects.toThrow();
  await applyBatch(log.database.db, projection, from, batch);

  expect(appended).toHaveLength(2);
  const webhooks = appended.map((requests) =>
    requests.map((request) => (request.events[0]!.data as { webhookId: string }).webhookId),
  );
  expect(webhooks).toEqual([["00000000-0000-4000-8000-0000000000a1"], ["00000000-0000-4000-8000-0000000000a1"]]);
});
