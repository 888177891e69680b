import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { eventMetadata } from "../../src/adapters/eventstore/event-metadata.js";
import type { ReadFrom } from "../../src/adapters/eventstore/event-store.js";
import {
  type DeliveryRecoveryRequested,
  type RecoveryRequest,
  recoveryStream,
} from "../../src/domain/delivery-recovery.js";
import { listRecoveryIds, recoveryRequestsProjection } from "../../src/projections/recovery-requests.js";
import { useEventLogDatabase } from "../support/event-log-database.js";
import { rebuiltAlike } from "../support/rebuilt-alike.js";
import { untilVisible } from "../support/until-visible.js";

const log = useEventLogDatabase();

it("indexes the same requests whether they come one per batch or many to a batch", async () => {
  const webhooks = [randomUUID(), randomUUID()];
  const deliveries = [randomUUID(), randomUUID(), randomUUID()];
  const requests = Array.from({ length: 12 }, (_, i): { id: string; request: RecoveryRequest } => ({
    id: randomUUID(),
    request:
      i % 2 === 0
        ? { mutation: "redeliver", webhookId: webhooks[i % 2]!, deliveryId: deliveries[i % 3]! }
        : { mutation: "recoverDeliveries", webhookId: webhooks[i % 2]! },
  }));
  let last: ReadFrom = "start";
  for (const { id, request } of requests) {
    const event: DeliveryRecoveryRequested = {
      type: "DeliveryRecoveryRequested",
      data: { recoveryId: id, idempotencyKey: id, request, deliveries: [] },
    };
    last = (await log.store.append(recoveryStream(id), [{ ...event, metadata: eventMetadata("test") }], "no_stream"))
      .position;
  }
  await untilVisible(log.store, last);
  const about = [...webhooks.map((webhookId) => ({ webhookId })), ...deliveries.map((deliveryId) => ({ deliveryId }))];
  const index = async () =>
    Promise.all(about.map(async (what) => (await listRecoveryIds(log.database.db, what)).sort()));

  const oneByOne = await rebuiltAlike(log, recoveryRequestsProjection, index);

  const expected = about.map((what) =>
    requests
      .filter(({ request }) =>
        "webhookId" in what
          ? request.webhookId === what.webhookId
          : request.mutation === "redeliver" && request.deliveryId === what.deliveryId,
      )
      .map(({ id }) => id)
      .sort(),
  );
  expect(oneByOne).toEqual(expected);
});
