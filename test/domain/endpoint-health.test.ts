import { describe, expect, it } from "vitest";
import {
  type AttemptObservation,
  endpointHealthDecider,
  type ObserveAttempts,
  observeAttempt,
} from "../../src/domain/endpoint-health.js";
import type { WebhookEndpointEvent } from "../../src/domain/webhook-events.js";
import { deciderSpec, owner } from "../support/decider-spec.js";

const webhookId = "8fafd82a-ca5e-4495-9ad4-d28c4ea6adf0";
const HOUR = 3_600_000;
const rules = { disableAfterMs: 5 * 24 * HOUR };
const given = deciderSpec(endpointHealthDecider(rules));

const created: WebhookEndpointEvent = {
  type: "WebhookEndpointCreated",
  data: {
    webhookId,
    subscriber: owner.address,
    url: "https://example.com/hook",
    retries: 5,
    apiKey: "v1.a",
    signingSecret: "v1.b",
    createdAt: 1000,
  },
};
const failing: WebhookEndpointEvent = { type: "WebhookEndpointFailing", data: { webhookId, since: 2000 } };
const observe = (...observations: AttemptObservation[]): ObserveAttempts => ({ type: "ObserveAttempts", observations });
const gone = (at: number) => observe({ outcome: "gone", at });
const failed = (at: number) => observe({ outcome: "failed", at });
const succeeded = (at: number) => observe({ outcome: "succeeded", at });

describe("endpoint health", () => {
  it("disables the endpoint at once on 410 Gone", () => {
    const disabled = given(created)
      .when(gone(2000))
      .thenDecides({ type: "WebhookEndpointDisabled", data: { webhookId, reason: "gone", at: 2000 } });
    expect(disabled.state).toMatchObject({ disabledReason: "gone" });
    // Already disabled: nothing more to say, however often it is observed again.
    disabled.when(gone(3000)).thenDecides();
  });

  it("marks the endpoint failing at the first failure, and disables it once failures span HERALD_ENDPOINT_DISABLE_AFTER_S", () => {
    const marked = given(created).when(failed(2000)).thenDecides(failing);
    expect(marked.state).toMatchObject({ failingSince: 2000 });
    marked
      .when(failed(2000 + rules.disableAfterMs - 1))
      .thenDecides()
      .when(failed(2000 + rules.disableAfterMs))
      .thenDecides({
        type: "WebhookEndpointDisabled",
        data: { webhookId, reason: "failing_too_long", at: 2000 + rules.disableAfterMs },
      });
  });

  it("ends a failing spell on a success, so the clock starts again at the next failure", () => {
    const recovered = given(created, failing)
      .when(succeeded(3000))
      .thenDecides({ type: "WebhookEndpointRecovered", data: { webhookId, at: 3000 } });
    expect(recovered.state).toMatchObject({ failingSince: undefined });
    recovered
      .when(failed(4000 + rules.disableAfterMs))
      .thenDecides({ type: "WebhookEndpointFailing", data: { webhookId, since: 4000 + rules.disableAfterMs } });
    given(created).when(succeeded(3000)).thenDecides();
  });

  it("is enabled again by resuming, and ignores attempts made before the resumption (a replayed 410)", () => {
    const health = given(
      created,
      { type: "WebhookEndpointDisabled", data: { webhookId, reason: "gone", at: 2000 } },
      { type: "WebhookEndpointResumed", data: { webhookId, at: 5000 } },
    );
    expect(health.state).toMatchObject({
      disabledReason: undefined,
      failingSince: undefined,
      paused: false,
      healthFrom: 5000,
    });
    health.when(gone(2000)).thenDecides();
    health
      .when(gone(6000))
      .thenDecides({ type: "WebhookEndpointDisabled", data: { webhookId, reason: "gone", at: 6000 } });
  });

  it("says nothing about endpoints that do not exist or were deleted", () => {
    given().when(gone(2000)).thenDecides();
    given(created, { type: "WebhookEndpointDeleted", data: { webhookId } }).when(gone(2000)).thenDecides();
  });

  it("reads an attempt: 410 is gone, 2xx succeeded, anything else (or no answer) failed", () => {
    expect(observeAttempt({ status: 410, startedAt: 1 })).toEqual({ outcome: "gone", at: 1 });
    expect(observeAttempt({ status: 204, startedAt: 2 })).toEqual({ outcome: "succeeded", at: 2 });
    expect(observeAttempt({ status: 404, startedAt: 3 })).toEqual({ outcome: "failed", at: 3 });
    expect(observeAttempt({ startedAt: 4 })).toEqual({ outcome: "failed", at: 4 });
  });

  it("decides a batch of attempts in order, each on the state the earlier ones left, and nothing more when replayed", () => {
    const attempts = observe(
      { outcome: "failed", at: 2000 },
      { outcome: "failed", at: 3000 },
      { outcome: "failed", at: 2000 + rules.disableAfterMs },
      { outcome: "succeeded", at: 3000 + rules.disableAfterMs },
    );
    given(created)
      .when(attempts)
      .thenDecides(failing, {
        type: "WebhookEndpointDisabled",
        data: { webhookId, reason: "failing_too_long", at: 2000 + rules.disableAfterMs },
      })
      .when(attempts)
      .thenDecides();
  });
});
