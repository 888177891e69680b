import { describe, expect, it } from "vitest";
import {
  type AttemptObservation,
  decideEndpointHealth,
  decideEndpointHealthOf,
  observeAttempt,
} from "../../src/domain/endpoint-health.js";
import { evolveWebhookEndpoint, type WebhookEndpointState } from "../../src/domain/webhook-endpoint.js";
import type { WebhookEndpointEvent } from "../../src/domain/webhook-events.js";

const webhookId = "8fafd82a-ca5e-4495-9ad4-d28c4ea6adf0";
const HOUR = 3_600_000;
const rules = { disableAfterMs: 5 * 24 * HOUR };
const created: WebhookEndpointEvent = {
  type: "WebhookEndpointCreated",
  data: {
    webhookId,
    subscriber: "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A",
    url: "https://example.com/hook",
    retries: 5,
    apiKey: "v1.a",
    signingSecret: "v1.b",
    createdAt: 1000,
  },
};

/** given these past events, when an attempt is observed, then … */
function given(...events: WebhookEndpointEvent[]) {
  const state = events.reduce<WebhookEndpointState>(evolveWebhookEndpoint, undefined);
  return { state, when: (observation: AttemptObservation) => decideEndpointHealth(observation, state, rules) };
}

describe("endpoint health", () => {
  it("disables the endpoint at once on 410 Gone", () => {
    const decision = given(created).when({ outcome: "gone", at: 2000 });
    expect(decision).toEqual({
      ok: true,
      events: [{ type: "WebhookEndpointDisabled", data: { webhookId, reason: "gone", at: 2000 } }],
    });
    const disabled = given(created, ...(decision.ok ? decision.events : []));
    expect(disabled.state).toMatchObject({ disabledReason: "gone" });
    // Already disabled: nothing more to say, however often it is observed again.
    expect(disabled.when({ outcome: "gone", at: 3000 })).toEqual({ ok: true, events: [] });
  });

  it("marks the endpoint failing at the first failure, and disables it once failures span HERALD_ENDPOINT_DISABLE_AFTER_S", () => {
    const failing: WebhookEndpointEvent = { type: "WebhookEndpointFailing", data: { webhookId, since: 2000 } };
    expect(given(created).when({ outcome: "failed", at: 2000 })).toEqual({ ok: true, events: [failing] });
    expect(given(created, failing).state).toMatchObject({ failingSince: 2000 });
    expect(given(created, failing).when({ outcome: "failed", at: 2000 + rules.disableAfterMs - 1 })).toEqual({
      ok: true,
      events: [],
    });
    expect(given(created, failing).when({ outcome: "failed", at: 2000 + rules.disableAfterMs })).toEqual({
      ok: true,
      events: [
        {
          type: "WebhookEndpointDisabled",
          data: { webhookId, reason: "failing_too_long", at: 2000 + rules.disableAfterMs },
        },
      ],
    });
  });

  it("ends a failing spell on a success, so the clock starts again at the next failure", () => {
    const failing: WebhookEndpointEvent = { type: "WebhookEndpointFailing", data: { webhookId, since: 2000 } };
    const recovered: WebhookEndpointEvent = { type: "WebhookEndpointRecovered", data: { webhookId, at: 3000 } };
    expect(given(created, failing).when({ outcome: "succeeded", at: 3000 })).toEqual({ ok: true, events: [recovered] });
    expect(given(created).when({ outcome: "succeeded", at: 3000 })).toEqual({ ok: true, events: [] });
    expect(given(created, failing, recovered).state).toMatchObject({ failingSince: undefined });
  });

  it("is enabled again by resuming, and ignores attempts made before the resumption (a replayed 410)", () => {
    const disabled: WebhookEndpointEvent = {
      type: "WebhookEndpointDisabled",
      data: { webhookId, reason: "gone", at: 2000 },
    };
    const resumed: WebhookEndpointEvent = { type: "WebhookEndpointResumed", data: { webhookId, at: 5000 } };
    const health = given(created, disabled, resumed);
    expect(health.state).toMatchObject({
      disabledReason: undefined,
      failingSince: undefined,
      paused: false,
      healthFrom: 5000,
    });
    expect(health.when({ outcome: "gone", at: 2000 })).toEqual({ ok: true, events: [] });
    expect(health.when({ outcome: "gone", at: 6000 })).toMatchObject({
      ok: true,
      events: [{ type: "WebhookEndpointDisabled" }],
    });
  });

  it("says nothing about endpoints that do not exist or were deleted", () => {
    expect(given().when({ outcome: "gone", at: 2000 })).toEqual({ ok: true, events: [] });
    expect(
      given(created, { type: "WebhookEndpointDeleted", data: { webhookId } }).when({ outcome: "gone", at: 2000 }),
    ).toEqual({ ok: true, events: [] });
  });

  it("reads an attempt: 410 is gone, 2xx succeeded, anything else (or no answer) failed", () => {
    expect(observeAttempt({ status: 410, startedAt: 1 })).toEqual({ outcome: "gone", at: 1 });
    expect(observeAttempt({ status: 204, startedAt: 2 })).toEqual({ outcome: "succeeded", at: 2 });
    expect(observeAttempt({ status: 404, startedAt: 3 })).toEqual({ outcome: "failed", at: 3 });
    expect(observeAttempt({ startedAt: 4 })).toEqual({ outcome: "failed", at: 4 });
  });

  it("decides a batch of attempts in order, each on the state the earlier ones left, and nothing more when replayed", () => {
    const attempts: AttemptObservation[] = [
      { outcome: "failed", at: 2000 },
      { outcome: "failed", at: 3000 },
      { outcome: "failed", at: 2000 + rules.disableAfterMs },
      { outcome: "succeeded", at: 3000 + rules.disableAfterMs },
    ];
    const decision = decideEndpointHealthOf(attempts, given(created).state, rules);
    expect(decision).toEqual({
      ok: true,
      events: [
        { type: "WebhookEndpointFailing", data: { webhookId, since: 2000 } },
        {
          type: "WebhookEndpointDisabled",
          data: { webhookId, reason: "failing_too_long", at: 2000 + rules.disableAfterMs },
        },
      ],
    });
    const after = given(created, ...(decision.ok ? decision.events : []));
    expect(decideEndpointHealthOf(attempts, after.state, rules)).toEqual({ ok: true, events: [] });
  });
});
