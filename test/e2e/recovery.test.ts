import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { eventMetadata } from "../../src/adapters/eventstore/event-metadata.js";
import { deliveryId, deliveryStream } from "../../src/domain/delivery.js";
import { type DeliveryRecoveryRequested, recoveryId, recoveryStream } from "../../src/domain/delivery-recovery.js";
import type { Transaction } from "../../src/domain/ingest-events.js";
import { useDeliveryHarness } from "../support/delivery-harness.js";
import { fixtureTransactions } from "../support/fixtures.js";
import { errorCode } from "../support/graphql-client.js";
import { newAccount } from "../support/siwe.js";
import { untilQueueIdle } from "../support/until-queue-idle.js";

const RECOVER = `mutation($webhookId: String!, $since: String, $until: String, $idempotencyKey: String) {
  recoverDeliveries(webhookId: $webhookId, since: $since, until: $until, idempotencyKey: $idempotencyKey) { deliveryIds }
}`;
const REDELIVER = `mutation($deliveryId: String!, $idempotencyKey: String) {
  redeliver(deliveryId: $deliveryId, idempotencyKey: $idempotencyKey) { redelivered delivery { deliveryId status } }
}`;
const TRAIL = `query($webhookId: String, $deliveryId: String) { auditTrail(webhookId: $webhookId, deliveryId: $deliveryId) { type stream actor data } }`;
const RECOVERY_EVENTS = {
  filter: { eventTypes: ["DeliveryRecoveryRequested", "DeliveryRedeliveryRequested"] },
} as const;

describe("recovery: failed deliveries attempted again, once per request, in the same history", () => {
  const bob = newAccount();
  const admin = newAccount();
  const auditor = newAccount();
  const harness = useDeliveryHarness({
    env: { HERALD_ADMIN_ADDRESSES: admin.address, HERALD_AUDITOR_ADDRESSES: auditor.address },
  });
  const alice = harness.owner;
  const [seed] = fixtureTransactions() as [Transaction];

  it("recoverDeliveries called twice (at once, then again) sends each failed delivery in its window once", async () => {
    // Fails for good on the first attempt (no retries); the receiver is fixed before recovery.
    harness.receiver.script("/down", [{ status: 500, body: "down" }]);
    const webhookId = await harness.api.endpointAt(`${harness.receiver.url}/down`, 0);
    const since = new Date().toISOString();
    const inWindow = [
      deliveryId(webhookId, await harness.api.ingest(seed, "recover-1")),
      deliveryId(webhookId, await harness.api.ingest(seed, "recover-2")),
    ];
    for (const id of inWindow) await harness.api.deliveryWhen(id, (d) => d.status === "FAILED");
    const until = new Date().toISOString();
    const outside = deliveryId(webhookId, await harness.api.ingest(seed, "recover-3"));
    await harness.api.deliveryWhen(outside, (d) => d.status === "FAILED");
    harness.receiver.script("/down", [{ status: 200, body: "back" }]);

    // Auditors read but never act; nobody else learns the endpoint exists.
    expect(errorCode(await harness.gql(RECOVER, { webhookId, since, until }, auditor))).toBe("FORBIDDEN");
    expect(errorCode(await harness.gql(REDELIVER, { deliveryId: outside }, auditor))).toBe("FORBIDDEN");
    expect(errorCode(await harness.gql(RECOVER, { webhookId, since, until }, bob))).toBe("NOT_FOUND");
    expect(errorCode(await harness.gql(REDELIVER, { deliveryId: outside }, bob))).toBe("NOT_FOUND");
    // Another subscriber's delivery answers exactly as an unknown one, key or not: status, message, code, path.
    const unknown = deliveryId(randomUUID(), randomUUID());
    for (const idempotencyKey of [null, "probe"]) {
      const others = await harness.gql(REDELIVER, { deliveryId: outside, idempotencyKey }, bob);
      expect(others).toEqual(await harness.gql(REDELIVER, { deliveryId: unknown, idempotencyKey }, bob));
      expect(JSON.stringify(others)).not.toContain(webhookId);
    }

    const twice = await Promise.all([
      harness.api.ok(RECOVER, { webhookId, since, until }),
      harness.api.ok(RECOVER, { webhookId, since, until }),
    ]);
    const scheduled = twice.flatMap((data) => data.recoverDeliveries.deliveryIds as string[]);
    expect(scheduled.toSorted()).toEqual(inWindow.toSorted());
    for (const id of inWindow) {
      const delivery = await harness.api.deliveryWhen(id, (d) => d.status === "SUCCEEDED");
      // The new attempt continues the same history.
      expect(delivery.attempts.map((a: any) => [a.number, a.statusCode])).toEqual([
        [1, 500],
        [2, 200],
      ]);
      const trail = (await harness.api.ok(TRAIL, { deliveryId: id })).auditTrail as { type: string; actor: string }[];
      expect(trail.filter((event) => event.type === "DeliveryRedeliveryRequested")).toEqual([
        expect.objectContaining({ actor: alice.address }),
      ]);
    }
    // Once more, after the fact: nothing is failed in the window any more.
    expect((await harness.api.ok(RECOVER, { webhookId, since, until })).recoverDeliveries.deliveryIds).toEqual([]);
    await untilQueueIdle(harness.herald.herald, webhookId);
    // 3 failed attempts, then one redelivery each for the two in the window; the third was outside it.
    expect(harness.receiver.on("/down")).toHaveLength(5);
    expect((await harness.api.deliveryWhen(outside, () => true)).status).toBe("FAILED");

    // An admin redelivers the one outside the window: once, however often asked.
    const first = await harness.gql(REDELIVER, { deliveryId: outside }, admin);
    expect(first.data?.redeliver).toMatchObject({
      redelivered: true,
      delivery: { deliveryId: outside, status: "PENDING" },
    });
    expect((await harness.gql(REDELIVER, { deliveryId: outside }, admin)).data?.redeliver.redelivered).toBe(false);
    await harness.api.deliveryWhen(outside, (d) => d.status === "SUCCEEDED");
    expect((await harness.gql(REDELIVER, { deliveryId: outside }, admin)).data?.redeliver.redelivered).toBe(false);
    expect(harness.receiver.on("/down")).toHaveLength(6);
  });

  it("with an idempotency key, a repeat sends nothing even after the redelivered attempt failed again; without one it sends again", async () => {
    const { store } = harness.herald.herald;
    // Every attempt answers 400: failed at once, not retried.
    harness.receiver.script("/refuses", [{ status: 400, body: "no" }]);
    const webhookId = await harness.api.endpointAt(`${harness.receiver.url}/refuses`, 0);
    const since = new Date().toISOString();
    const failed = deliveryId(webhookId, await harness.api.ingest(seed, "keyed-1"));
    await harness.api.deliveryWhen(failed, (d) => d.status === "FAILED");
    const until = new Date().toISOString();
    const failedAfter = (attempts: number) =>
      harness.api.deliveryWhen(failed, (d) => d.status === "FAILED" && d.attempts.length === attempts);
    const redeliveries = async () =>
      (await store.readStream(deliveryStream(failed))).filter((event) => event.type === "DeliveryRedeliveryRequested");
    const key = `recover-${randomUUID()}`;
    const request = { webhookId, since, until, idempotencyKey: key };

    // Sent twice at once, as by a client whose first try timed out: one record, one redelivery.
    const first = await Promise.all([harness.api.ok(RECOVER, request), harness.api.ok(RECOVER, request)]);
    expect(first.map((data) => data.recoverDeliveries.deliveryIds)).toEqual([[failed], [failed]]);
    await failedAfter(2);
    expect(harness.receiver.on("/refuses")).toHaveLength(2);

    // Repeated after the redelivered attempt failed again: the first answer, and nothing sent.
    expect((await harness.api.ok(RECOVER, request)).recoverDeliveries.deliveryIds).toEqual([failed]);
    expect(await redeliveries()).toHaveLength(1);
    const recorded = await store.readStream(recoveryStream(recoveryId(alice.address, key)));
    expect(recorded.map(({ type, data, metadata }) => ({ type, data, actor: metadata.actor }))).toEqual([
      {
        type: "DeliveryRecoveryRequested",
        data: {
          recoveryId: recoveryId(alice.address, key),
          idempotencyKey: key,
          request: { mutation: "recoverDeliveries", webhookId, since: Date.parse(since), until: Date.parse(until) },
          // DeliveryScheduled, DeliveryAttempted, DeliveryFailed: failed at revision 2.
          deliveries: [{ deliveryId: failed, revision: 2 }],
        },
        actor: alice.address,
      },
    ]);
    await untilQueueIdle(harness.herald.herald, webhookId);
    expect(harness.receiver.on("/refuses")).toHaveLength(2);

    // Without a key, as before: the delivery failed again, so it is sent again.
    expect((await harness.api.ok(RECOVER, { webhookId, since, until })).recoverDeliveries.deliveryIds).toEqual([
      failed,
    ]);
    await failedAfter(3);
    expect(harness.receiver.on("/refuses")).toHaveLength(3);

    // redeliver takes a key too; a repeat answers as the first did.
    const redeliverKey = `redeliver-${randomUUID()}`;
    expect(
      (await harness.api.ok(REDELIVER, { deliveryId: failed, idempotencyKey: redeliverKey })).redeliver.redelivered,
    ).toBe(true);
    await failedAfter(4);
    expect((await harness.api.ok(REDELIVER, { deliveryId: failed, idempotencyKey: redeliverKey })).redeliver).toEqual({
      redelivered: true,
      delivery: { deliveryId: failed, status: "FAILED" },
    });
    expect(await redeliveries()).toHaveLength(3);

    // A key with other arguments, or a malformed key: refused, and nothing written.
    const before = await store.headPosition();
    const other = deliveryId(webhookId, await harness.api.ingest(seed, "keyed-2"));
    await harness.api.deliveryWhen(other, (d) => d.status === "FAILED");
    for (const reused of [
      harness.gql(RECOVER, { ...request, until: null }, alice),
      harness.gql(
        RECOVER,
        { ...request, webhookId: await harness.api.endpointAt(`${harness.receiver.url}/refuses`, 0) },
        alice,
      ),
      harness.gql(REDELIVER, { deliveryId: failed, idempotencyKey: key }, alice),
      harness.gql(REDELIVER, { deliveryId: other, idempotencyKey: redeliverKey }, alice),
    ]) {
      const response = await reused;
      expect(errorCode(response)).toBe("CONFLICT");
      expect(response.errors?.[0]?.message).toMatch(/idempotencyKey was used for another request/);
    }
    for (const bad of ["", "x".repeat(256), "line\n", "é"]) {
      const responses = [
        await harness.gql(RECOVER, { webhookId, idempotencyKey: bad }, alice),
        await harness.gql(REDELIVER, { deliveryId: other, idempotencyKey: bad }, alice),
      ];
      for (const response of responses)
        expect(response.errors?.[0]?.extensions).toEqual({ code: "BAD_USER_INPUT", field: "idempotencyKey" });
    }
    expect(await store.readAll(before, RECOVERY_EVENTS)).toEqual([]);
    await untilQueueIdle(harness.herald.herald, webhookId);
    expect(harness.receiver.on("/refuses")).toHaveLength(5);

    // The endpoint's audit trail shows both keyed requests; the delivery's shows the redeliver one.
    const trail = async (subject: object) =>
      (
        (await harness.api.ok(TRAIL, subject)).auditTrail as {
          type: string;
          stream: string;
          actor: string;
          data: any;
        }[]
      ).filter((entry) => entry.type === "DeliveryRecoveryRequested");
    expect(await trail({ webhookId })).toEqual([
      expect.objectContaining({
        stream: recoveryStream(recoveryId(alice.address, key)),
        actor: alice.address,
        data: expect.objectContaining({ idempotencyKey: key }),
      }),
      expect.objectContaining({
        stream: recoveryStream(recoveryId(alice.address, redeliverKey)),
        data: expect.objectContaining({
          request: { mutation: "redeliver", webhookId, deliveryId: failed },
          deliveries: [{ deliveryId: failed, revision: 8 }],
        }),
      }),
    ]);
    expect((await trail({ deliveryId: failed })).map((entry) => entry.data.idempotencyKey)).toEqual([redeliverKey]);
    expect(await trail({ deliveryId: other })).toEqual([]);
  });

  it("a keyed request recorded but cut short before its redeliveries (a crash) is finished by its repeat, once", async () => {
    const { store } = harness.herald.herald;
    harness.receiver.script("/cut-short", [{ status: 400 }]);
    const webhookId = await harness.api.endpointAt(`${harness.receiver.url}/cut-short`, 0);
    const failed = deliveryId(webhookId, await harness.api.ingest(seed, "cut-short-1"));
    await harness.api.deliveryWhen(failed, (d) => d.status === "FAILED");
    // What the first run had written when the process died: the record, no redelivery.
    const key = `cut-short-${randomUUID()}`;
    const id = recoveryId(alice.address, key);
    const data: DeliveryRecoveryRequested["data"] = {
      recoveryId: id,
      idempotencyKey: key,
      request: { mutation: "redeliver", webhookId, deliveryId: failed },
      deliveries: [{ deliveryId: failed, revision: 2 }],
    };
    await store.append(
      recoveryStream(id),
      [{ type: "DeliveryRecoveryRequested", data, metadata: eventMetadata(alice.address) }],
      "no_stream",
    );

    for (let repeat = 0; repeat < 2; repeat++) {
      expect((await harness.api.ok(REDELIVER, { deliveryId: failed, idempotencyKey: key })).redeliver.redelivered).toBe(
        true,
      );
      await harness.api.deliveryWhen(failed, (d) => d.status === "FAILED" && d.attempts.length === 2);
    }
    await untilQueueIdle(harness.herald.herald, webhookId);
    expect(harness.receiver.on("/cut-short")).toHaveLength(2);
    expect(await store.readStream(recoveryStream(id))).toHaveLength(1);
  });
});
