import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { evolveWebhookEndpoint } from "../../src/domain/webhook-endpoint.js";
import { endpointStream, type WebhookEndpointEvent } from "../../src/domain/webhook-events.js";
import { findWebhookEndpoint, webhookEndpointsProjection } from "../../src/projections/webhook-endpoints.js";
import { useEventLogDatabase } from "../support/event-log-database.js";
import { appendInterleaved } from "../support/interleaved-appends.js";
import { rebuiltAlike } from "../support/rebuilt-alike.js";

const log = useEventLogDatabase();

/** An endpoint's history; `variant` picks which changes it goes through, some ending deleted. */
function endpointEvents(webhookId: string, variant: number): WebhookEndpointEvent[] {
  const created: WebhookEndpointEvent = {
    type: "WebhookEndpointCreated",
    data: {
      webhookId,
      subscriber: `0x${variant}`,
      url: "https://a.example.com/hook",
      retries: 5,
      ...(variant % 2 ? { rateLimit: 10 } : {}),
      apiKey: "v1.k",
      signingSecret: "v1.s",
      createdAt: 1_000 + variant,
    },
  };
  const changes: WebhookEndpointEvent[][] = [
    [
      { type: "WebhookEndpointUpdated", data: { webhookId, url: "https://b.example.com/hook", rateLimit: null } },
      { type: "WebhookEndpointPaused", data: { webhookId } },
    ],
    [
      { type: "WebhookEndpointFailing", data: { webhookId, since: 5_000 } },
      { type: "WebhookEndpointDisabled", data: { webhookId, reason: "gone", at: 6_000 } },
    ],
    [
      { type: "WebhookEndpointFailing", data: { webhookId, since: 5_000 } },
      { type: "WebhookEndpointRecovered", data: { webhookId, at: 5_500 } },
      { type: "WebhookEndpointApiKeyRotated", data: { webhookId, apiKey: "v1.k2", signingSecret: "v1.s2" } },
    ],
    [
      { type: "WebhookEndpointPaused", data: { webhookId } },
      { type: "WebhookEndpointDisabled", data: { webhookId, reason: "failing_too_long", at: 6_000 } },
      { type: "WebhookEndpointResumed", data: { webhookId, at: 7_000 } },
    ],
    [
      { type: "WebhookEndpointUpdated", data: { webhookId, retries: 2 } },
      { type: "WebhookEndpointDeleted", data: { webhookId } },
    ],
  ];
  return [created, ...changes[variant % changes.length]!];
}

it("gives every endpoint the same row whether its events come one per batch or many endpoints' to a batch", async () => {
  const ids = Array.from({ length: 15 }, () => randomUUID());
  const streams = ids.map((id, i) => endpointEvents(id, i));
  // Interleaved across endpoints, one append per event.
  await appendInterleaved(
    log.store,
    streams.map((events, i) => ({ stream: endpointStream(ids[i]!), events })),
  );
  const rows = async () => Promise.all(ids.map((id) => findWebhookEndpoint(log.database.db, id)));

  const oneByOne = await rebuiltAlike(log, webhookEndpointsProjection, rows);

  // …and the same as the domain's fold of each stream.
  const folded = streams.map((events) => {
    const state = events.reduce(evolveWebhookEndpoint, undefined);
    if (!state || state.deleted) return undefined;
    const { deleted: _deleted, healthFrom: _healthFrom, ...record } = state;
    return record;
  });
  expect(oneByOne).toEqual(folded);
  expect(oneByOne.filter((row) => row === undefined)).toHaveLength(3);
});
