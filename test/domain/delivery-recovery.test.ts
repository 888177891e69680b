import { describe, expect, it } from "vitest";
import { type DeliveryEvent, deliveryId } from "../../src/domain/delivery.js";
import {
  type DeliveryAtRevision,
  type DeliveryRecoveryRequested,
  decideRecordedRedelivery,
  decideRecovery,
  evolveDeliveryAtRevision,
  evolveRecovery,
  failedDelivery,
  idempotencyKeyRefusal,
  noDeliveryYet,
  type RecoveryRequest,
  type RecoveryState,
  type RequestRecovery,
  recoveryId,
} from "../../src/domain/delivery-recovery.js";

const alice = "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A";
const bob = "0x1563915e194D8CfBA1943570603F7606A3115508";
const webhookId = "8fafd82a-ca5e-4495-9ad4-d28c4ea6adf0";
const id = deliveryId(webhookId, "t1");
const key = "retry-of-request-17";
const transaction = { status: "SUCCESS", events: [] };
const window: RecoveryRequest = { mutation: "recoverDeliveries", webhookId, since: 1000, until: 2000 };
const request = (change: Partial<RequestRecovery> = {}): RequestRecovery => ({
  recoveryId: recoveryId(alice, key),
  idempotencyKey: key,
  request: window,
  failed: [{ deliveryId: id, revision: 2 }],
  ...change,
});
const recorded: DeliveryRecoveryRequested = {
  type: "DeliveryRecoveryRequested",
  data: {
    recoveryId: recoveryId(alice, key),
    idempotencyKey: key,
    request: window,
    deliveries: [{ deliveryId: id, revision: 2 }],
  },
};

/** given these past events of the recovery stream, when the request comes, then … */
function givenRecovery(...events: DeliveryRecoveryRequested[]) {
  const state = events.reduce<RecoveryState>(evolveRecovery, undefined);
  return { when: (command: RequestRecovery) => decideRecovery(command, state) };
}

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

/** given these past events of a delivery stream, when a recorded request takes it back, then … */
function givenDelivery(...events: DeliveryEvent[]) {
  const current = events.reduce<DeliveryAtRevision>(evolveDeliveryAtRevision, noDeliveryYet);
  return { current, when: (revision: number) => decideRecordedRedelivery({ deliveryId: id, revision }, current, 50) };
}

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
    expect(recoveryId(alice, key)).toBe(recoveryId(alice, key));
    expect(recoveryId(bob, key)).not.toBe(recoveryId(alice, key));
    expect(recoveryId(alice, `${key}!`)).not.toBe(recoveryId(alice, key));
  });

  it("records a new key's request with the failed deliveries found as its answer", () => {
    expect(givenRecovery().when(request())).toEqual({ ok: true, events: [recorded] });
    expect(givenRecovery().when(request({ failed: [] }))).toEqual({
      ok: true,
      events: [{ ...recorded, data: { ...recorded.data, deliveries: [] } }],
    });
  });

  it("decides nothing for a repeat with the same arguments, whatever is failed now", () => {
    expect(givenRecovery(recorded).when(request())).toEqual({ ok: true, events: [] });
    expect(givenRecovery(recorded).when(request({ failed: [{ deliveryId: id, revision: 5 }] }))).toEqual({
      ok: true,
      events: [],
    });
  });

  it.each<[string, RecoveryRequest]>([
    ["another window", { ...window, until: 3000 }],
    ["an open window", { mutation: "recoverDeliveries", webhookId }],
    ["another endpoint", { ...window, webhookId: "0d5cbbd4-1f2c-4c64-9bd3-3b6a44f3e1a7" }],
    ["another mutation", { mutation: "redeliver", webhookId, deliveryId: id }],
  ])("refuses the key with %s: CONFLICT", (_what, other) => {
    expect(givenRecovery(recorded).when(request({ request: other }))).toEqual({
      ok: false,
      error: { code: "CONFLICT", message: expect.stringContaining("idempotencyKey") },
    });
  });

  it("tells redeliver requests apart by delivery", () => {
    const redeliver: RecoveryRequest = { mutation: "redeliver", webhookId, deliveryId: id };
    const first: DeliveryRecoveryRequested = { ...recorded, data: { ...recorded.data, request: redeliver } };
    expect(givenRecovery(first).when(request({ request: redeliver }))).toEqual({ ok: true, events: [] });
    expect(
      givenRecovery(first).when(request({ request: { ...redeliver, deliveryId: deliveryId(webhookId, "t2") } })),
    ).toMatchObject({ ok: false, error: { code: "CONFLICT" } });
  });

  it("sees a delivery failed at the revision of its stream's last event", () => {
    expect(failedDelivery(id, givenDelivery(scheduled, attempted, failed).current)).toEqual({
      deliveryId: id,
      revision: 2,
    });
    expect(failedDelivery(id, givenDelivery(scheduled).current)).toBeUndefined();
    expect(failedDelivery(id, givenDelivery(scheduled, attempted, failed, redelivered).current)).toBeUndefined();
  });

  it("takes a recorded delivery back while its stream stands where the request saw it failed", () => {
    expect(givenDelivery(scheduled, attempted, failed).when(2)).toEqual({ ok: true, events: [redelivered] });
  });

  it("sends nothing once the stream moved on: taken back already, even if that attempt failed again", () => {
    const again: DeliveryEvent[] = [
      {
        type: "DeliveryAttempted",
        data: { deliveryId: id, attempt: 2, startedAt: 60, durationMs: 1, url: "http://x/", status: 400 },
      },
      { type: "DeliveryFailed", data: { deliveryId: id, reason: "not_retryable", attempts: 2, at: 61 } },
    ];
    expect(givenDelivery(scheduled, attempted, failed, redelivered).when(2)).toEqual({ ok: true, events: [] });
    const failedAgain = givenDelivery(scheduled, attempted, failed, redelivered, ...again);
    expect(failedAgain.current.delivery.status).toBe("failed");
    expect(failedAgain.when(2)).toEqual({ ok: true, events: [] });
  });
});
