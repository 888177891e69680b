import { describe, expect, it } from "vitest";
import { deliveryId } from "../../src/domain/delivery.js";
import type { Transaction } from "../../src/domain/ingest-events.js";
import { endpointStream } from "../../src/domain/webhook-events.js";
import { useDeliveryHarness } from "../support/delivery-harness.js";
import { fixtureTransactions } from "../support/fixtures.js";

const TRAIL = `query($webhookId: String!) { auditTrail(webhookId: $webhookId) { type actor data } }`;

describe("endpoint health: herald disables endpoints that are gone or keep failing", () => {
  const harness = useDeliveryHarness({
    env: { HERALD_ENDPOINT_DISABLE_AFTER_S: "2", HERALD_RETRY_BASE_MS: "200", HERALD_RETRY_MAX_MS: "400" },
  });
  const [seed] = fixtureTransactions() as [Transaction];

  /** Until the delivery queue has applied everything in the endpoint's stream so far. */
  async function queueSeesEndpoint(webhookId: string): Promise<void> {
    const { herald } = harness.herald;
    const last = (await herald.store.readStream(endpointStream(webhookId))).at(-1)!;
    await herald.projections.get("delivery-queue")!.waitFor(last.position);
  }

  it("disables an endpoint that answers 410 Gone, holds its deliveries, and delivers them once resumed", async () => {
    const { api, receiver } = harness;
    receiver.script("/gone", [{ status: 410, body: "gone" }]);
    const webhookId = await api.endpointAt(`${receiver.url}/gone`);
    const first = deliveryId(webhookId, await api.ingest(seed, "gone-1"));

    expect(await api.deliveryWhen(first, (d) => d.status === "FAILED")).toMatchObject({
      failureReason: "not_retryable",
    });
    expect(await api.endpointWhen(webhookId, (e) => e.status === "DISABLED")).toMatchObject({ disabledReason: "GONE" });
    const trail = (await api.ok(TRAIL, { webhookId })).auditTrail as { type: string; actor: string; data: any }[];
    expect(trail.at(-1)).toMatchObject({
      type: "WebhookEndpointDisabled",
      actor: "system:endpoint-health",
      data: { reason: "gone" },
    });

    // Disabled is a pause: the next delivery waits and the receiver hears nothing.
    await queueSeesEndpoint(webhookId);
    const second = deliveryId(webhookId, await api.ingest(seed, "gone-2"));
    await api.deliveryWhen(second, (d) => d.status === "PAUSED");
    expect(receiver.on("/gone")).toHaveLength(1);

    // Its owner says it is back: resuming enables it, and the held delivery goes out.
    receiver.script("/gone", [{ status: 200 }]);
    await api.ok(
      `mutation($webhookId: String!) { resumeWebhookEndpoint(input: { webhookId: $webhookId }) { webhookEndpoint { status } } }`,
      { webhookId },
    );
    expect(await api.deliveryWhen(second, (d) => d.status === "SUCCEEDED")).toMatchObject({
      attempts: [{ number: 1, statusCode: 200 }],
    });
    expect(await api.endpointWhen(webhookId, (e) => e.status === "ACTIVE")).toMatchObject({
      disabledReason: null,
      failingSince: null,
    });
    expect(receiver.on("/gone")).toHaveLength(2);
  });

  it("disables an endpoint that fails without a success for HERALD_ENDPOINT_DISABLE_AFTER_S (2 s here)", async () => {
    const { api, receiver } = harness;
    receiver.script("/down", [{ status: 503, body: "down" }]);
    const webhookId = await api.endpointAt(`${receiver.url}/down`, 20);
    const id = deliveryId(webhookId, await api.ingest(seed, "down-1"));

    const failing = await api.endpointWhen(webhookId, (e) => e.status === "FAILING");
    const disabled = await api.endpointWhen(webhookId, (e) => e.status === "DISABLED");
    expect(disabled).toMatchObject({ disabledReason: "FAILING_TOO_LONG", failingSince: failing.failingSince });

    const trail = (await api.ok(TRAIL, { webhookId })).auditTrail as { type: string; actor: string; data: any }[];
    const health = trail.filter((event) => event.actor === "system:endpoint-health");
    expect(health.map((event) => event.type)).toEqual(["WebhookEndpointFailing", "WebhookEndpointDisabled"]);
    expect(health[1]!.data.at - health[0]!.data.since).toBeGreaterThanOrEqual(2000);

    // The delivery stops retrying: it is held, not failed, with its retries left for after a resume.
    const delivery = await api.deliveryWhen(id, (d) => d.status === "PAUSED");
    expect(delivery.attempts.length).toBeLessThan(21);
    const attempts = receiver.on("/down").length;
    // Once its retry's due time has passed and a delivery made after that went out, the worker has
    // run past the retry: it would have been sent.
    const due = delivery.attempts.at(-1).nextAttemptAt as number;
    await expect.poll(() => Date.now()).toBeGreaterThan(due);
    const marker = deliveryId(await api.endpointAt(`${receiver.url}/after-due`), await api.ingest(seed, "down-2"));
    await api.deliveryWhen(marker, (d) => d.status === "SUCCEEDED");
    expect(receiver.on("/down")).toHaveLength(attempts);
  });
});
