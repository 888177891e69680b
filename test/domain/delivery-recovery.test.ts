import { describe, expect, it } from "vitest";
import { type DeliveryEvent, deliveryId } from "../../src/domain/delivery.js";
import {
  type DeliveryRecoveryRequested,
  failedDelivery,
  idempotencyKeyRefusal,
  type RecoveryRequest,
  type RequestRecovery,
  recordedRedeliveryDecider,
  recoveryDecider,
  recoveryId,
} from "../../src/domain/delivery-recovery.js";
import { deciderSpec, owner, stranger } from "../support/decider-spec.js";

const webhookId = "8fafd82a-ca5e-4495-9ad4-d28c4ea6adf0";
const id = deliveryId(webhookId, "t1");
const key = "retry-of-request-17";
const transaction = { status: "SUCCESS", events: [] };
const window: RecoveryRequest = { mutation: "recoverDeliveries", webhookId, since: 1000, until: 2000 };
const request = (change: Partial<RequestRecovery> = {}): RequestRecovery => ({
  type: "RequestRecovery",
  recoveryId: recoveryId(owner.address, key),
  idempotencyKey: key,
  request: window,
  failed: [{ deliveryId: id, revision: 2 }],
  ...change,
});
const recorded: DeliveryRecoveryRequested = {
  type: "DeliveryRecoveryRequested",
  data: {
    recoveryId: recoveryId(owner.address, key),
    idempotencyKey: key,
    request: window,
    deliveries: [{ deliveryId: id, revision: 2 }],
  },
};

/** Given the recovery stream's events, when the request comes, then … */
const givenRecovery = deciderSpec(recoveryDecider);

const scheduled: DeliveryEvent = {
  type: "DeliveryScheduled",
  data: { deliveryId: id, webhookId, transactionId: "t1", subscriptionIds: ["s1"], transaction, scheduledAt: 0 },
};
const attempted: DeliveryEvent = {
  type: "DeliveryAttempted",
  data: { deliveryId: id, attempt: 1, startedAt: 5, durationMs: 1, url: "http://x/", status: 400 },
};
const failed: DeliveryEvent = {
  type: "DeliveryFailed",
  data: { deliveryId: id, reason: "not_retryable", attempts: 1, at: 6 },
};
const redelivered: DeliveryEvent = {
  type: "DeliveryRedeliveryRequested",
  data: { deliveryId: id, webhookId, transaction, attempts: 1, dueAt: 50 },
};

/** Given a delivery stream's events, when a recorded request takes it back, then … */
const givenDelivery = deciderSpec(recordedRedeliveryDecider);
/** The request saw the delivery failed at this revision. */
const takeBack = (revision: number) =>
  ({ type: "RedeliverRecorded", recorded: { deliveryId: id, revision }, now: 50 }) as const;

describe("delivery recovery with an idempotency key", () => {
  it.each(["k", "x".repeat(255), "order 42 / retry #1", "550e8400-e29b-41d4-a716-446655440000"])(
    "takes the key %j",
    (good) => {
      expect(idempotencyKeyRefusal(good)).toBeUndefined();
    },
  );

  it.each(["", "x".repeat(256), "tab\there", "line\n", "nul\u0000", "del\u007f", "é", "💥"])(
    "refuses the key %j, naming the field",
    (bad) => {
      expect(idempotencyKeyRefusal(bad)).toEqual({
        code: "INVALID",
        field: "idempotencyKey",
        message: expect.any(String),
      });
    },
  );

  it("derives one recovery id per caller and key", () => {
    expect(recoveryId(owner.address, key)).toBe(recoveryId(owner.address, key));
    expect(recoveryId(stranger.address, key)).not.toBe(recoveryId(owner.address, key));
    expect(recoveryId(owner.address, `${key}!`)).not.toBe(recoveryId(owner.address, key));
  });

  it("records a new key's request with the failed deliveries found as its answer", () => {
    givenRecovery().when(request()).thenDecides(recorded);
    givenRecovery()
      .when(request({ failed: [] }))
      .thenDecides({ ...recorded, data: { ...recorded.data, deliveries: [] } });
  });

  it("decides nothing for a repeat with the same arguments, whatever is failed now", () => {
    givenRecovery(recorded)
      .when(request())
      .thenDecides()
      .when(request({ failed: [{ deliveryId: id, revision: 5 }] }))
      .thenDecides();
  });

  it.each<[string, RecoveryRequest]>([
    ["another window", { ...window, until: 3000 }],
    ["an open window", { mutation: "recoverDeliveries", webhookId }],
    ["another endpoint", { ...window, webhookId: "0d5cbbd4-1f2c-4c64-9bd3-3b6a44f3e1a7" }],
    ["another mutation", { mutation: "redeliver", webhookId, deliveryId: id }],
  ])("refuses the key with %s: CONFLICT", (_what, other) => {
    givenRecovery(recorded)
      .when(request({ request: other }))
      .thenRefuses("CONFLICT", { message: expect.stringContaining("idempotencyKey") });
  });

  it("tells redeliver requests apart by delivery", () => {
    const redeliver: RecoveryRequest = { mutation: "redeliver", webhookId, deliveryId: id };
    const first: DeliveryRecoveryRequested = { ...recorded, data: { ...recorded.data, request: redeliver } };
    givenRecovery(first)
      .when(request({ request: redeliver }))
      .thenDecides()
      .when(request({ request: { ...redeliver, deliveryId: deliveryId(webhookId, "t2") } }))
      .thenRefuses("CONFLICT", { message: expect.stringContaining("idempotencyKey") });
  });

  it("sees a delivery failed at the revision of its stream's last event", () => {
    expect(failedDelivery(id, givenDelivery(scheduled, attempted, failed).state)).toEqual({
      deliveryId: id,
      revision: 2,
    });
    expect(failedDelivery(id, givenDelivery(scheduled).state)).toBeUndefined();
    expect(failedDelivery(id, givenDelivery(scheduled, attempted, failed, redelivered).state)).toBeUndefined();
  });

  it("takes a recorded delivery back while its stream stands where the request saw it failed", () => {
    givenDelivery(scheduled, attempted, failed).when(takeBack(2)).thenDecides(redelivered);
  });

  it("sends nothing once the stream moved on: taken back already, even if that attempt failed again", () => {
    const again: DeliveryEvent[] = [
      {
        type: "DeliveryAttempted",
        data: { deliveryId: id, attempt: 2, startedAt: 60, durationMs: 1, url: "http://x/", status: 400 },
      },
      { type: "DeliveryFailed", data: { deliveryId: id, reason: "not_retryable", attempts: 2, at: 61 } },
    ];
    givenDelivery(scheduled, attempted, failed, redelivered).when(takeBack(2)).thenDecides();
    const failedAgain = givenDelivery(scheduled, attempted, failed, redelivered, ...again);
    expect(failedAgain.state.delivery.status).toBe("failed");
    failedAgain.when(takeBack(2)).thenDecides();
  });

  it("sends nothing for a stream it never saw scheduled", () => {
    givenDelivery().when(takeBack(-1)).thenDecides();
  });
});
