import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventMetadata } from "../../src/adapters/eventstore/event-metadata.js";
import { REDACTED } from "../../src/domain/redact-secrets.js";
import type { WebhookEndpointDisabled, WebhookEndpointFailing } from "../../src/domain/webhook-events.js";
import { SEED_COLLECTION } from "../support/fixtures.js";
import { errorCode, type GraphqlCall, graphqlClient } from "../support/graphql-client.js";
import { newAccount, TEST_SIWE_DOMAIN } from "../support/siwe.js";
import { startTestHerald, type TestHerald } from "../support/test-herald.js";

const ENDPOINT_FIELDS = "webhookId subscriber url retries status apiKey";
const CREATE_ENDPOINT = `mutation($url: String!) { createWebhookEndpoint(input: { url: $url }) { webhookEndpoint { ${ENDPOINT_FIELDS} } } }`;
const UPDATE_URL = `mutation($webhookId: String!, $url: String!) { updateWebhookEndpoint(input: { webhookId: $webhookId, url: $url }) { webhookEndpoint { url } } }`;
const ROTATE = `mutation($webhookId: String!) { rotateWebhookEndpointApiKey(input: { webhookId: $webhookId }) { webhookEndpoint { webhookId } } }`;
const PAUSE = `mutation($webhookId: String!) { pauseWebhookEndpoint(input: { webhookId: $webhookId }) { webhookEndpoint { status } } }`;
const DELETE_ENDPOINT = `mutation($webhookId: String!) { deleteWebhookEndpoint(input: { webhookId: $webhookId }) { success } }`;
const CREATE_SUBSCRIPTION = `mutation($webhookId: String!) {
  createWebhookSubscription(input: { webhookId: $webhookId, type: "asset-link", actions: ["create"], collectionId: "${SEED_COLLECTION}" }) {
    webhookSubscription { subscriptionId webhookId type actions }
  }
}`;
const DELETE_SUBSCRIPTION = `mutation($webhookId: String!, $subscriptionId: String!) {
  deleteWebhookSubscription(input: { webhookId: $webhookId, subscriptionId: $subscriptionId }) { success }
}`;
const ENDPOINT_AS_OF = `query($webhookId: String!, $asOf: String) { webhookEndpoint(webhookId: $webhookId, asOf: $asOf) { ${ENDPOINT_FIELDS} } }`;
const SUBSCRIPTION_AS_OF = `query($subscriptionId: String!, $asOf: String) {
  webhookSubscription(subscriptionId: $subscriptionId, asOf: $asOf) { subscriptionId webhookId actions }
}`;
const ENDPOINTS_OF = `query($subscriber: String) { webhookEndpoints(subscriber: $subscriber) { total edges { node { webhookId subscriber apiKey } } } }`;
const AUDIT_TRAIL = `query($webhookId: String, $subscriptionId: String, $deliveryId: String) {
  auditTrail(webhookId: $webhookId, subscriptionId: $subscriptionId, deliveryId: $deliveryId) {
    type stream revision position at actor correlationId causationId data
  }
}`;

describe("audit: trails from the event store, time travel, read-only auditors", () => {
  let running: TestHerald;
  let gql: GraphqlCall;
  const alice = newAccount();
  const bob = newAccount();
  const admin = newAccount();
  const auditor = newAccount();

  beforeAll(async () => {
    running = await startTestHerald({
      nats: false,
      env: {
        HERALD_SIWE_DOMAIN: TEST_SIWE_DOMAIN,
        HERALD_ADMIN_ADDRESSES: admin.address,
        HERALD_AUDITOR_ADDRESSES: auditor.address.toLowerCase(),
      },
    });
    gql = graphqlClient(running.url, TEST_SIWE_DOMAIN);
  });

  afterAll(async () => {
    await running?.cleanup();
  });

  async function ok(query: string, variables: object, account = alice): Promise<Record<string, any>> {
    const response = await gql(query, variables, account);
    expect(response.errors, query).toBeUndefined();
    return response.data!;
  }

  async function aliceEndpointWithHistory() {
    const { webhookEndpoint } = (await ok(CREATE_ENDPOINT, { url: "https://example.com/v1" })).createWebhookEndpoint;
    const { webhookId } = webhookEndpoint;
    const { webhookSubscription } = (await ok(CREATE_SUBSCRIPTION, { webhookId })).createWebhookSubscription;
    await ok(UPDATE_URL, { webhookId, url: "https://example.com/v2" });
    await ok(ROTATE, { webhookId });
    return { webhookId, subscriptionId: webhookSubscription.subscriptionId as string };
  }

  /** Every event in the streams subscribers write: refused commands must leave this unchanged. */
  const webhookEventCount = async () =>
    (
      await running.herald.store.readAll("start", {
        filter: { streamPrefixes: ["endpoint-", "subscription-"] },
        maxCount: 100_000,
      })
    ).length;

  it("shows an endpoint's events in stream order with actor, time and position, secrets redacted", async () => {
    const { webhookId } = await aliceEndpointWithHistory();
    const trail = (await ok(AUDIT_TRAIL, { webhookId })).auditTrail as Record<string, any>[];
    expect(trail.map((event) => event.type)).toEqual([
      "WebhookEndpointCreated",
      "WebhookEndpointUpdated",
      "WebhookEndpointApiKeyRotated",
    ]);
    expect(trail.map((event) => event.revision)).toEqual(["0", "1", "2"]);
    for (const event of trail) {
      expect(event).toMatchObject({
        stream: `endpoint-${webhookId}`,
        actor: alice.address,
        position: expect.stringMatching(/^\d+-\d+$/),
      });
      expect(Date.parse(event.at)).not.toBeNaN();
    }
    expect(trail[0]!.data).toMatchObject({
      webhookId,
      url: "https://example.com/v1",
      apiKey: REDACTED,
      signingSecret: REDACTED,
    });
    expect(trail[1]!.data).toEqual({ webhookId, url: "https://example.com/v2" });
    expect(trail[2]!.data).toEqual({ webhookId, apiKey: REDACTED, signingSecret: REDACTED });

    // Neither the sealed nor the open form of any secret leaves in a trail.
    const stored = await running.herald.store.readStream(`endpoint-${webhookId}`);
    const sealed = stored.flatMap((event) =>
      Object.values(event.data as object).filter((value) => String(value).startsWith("v1.")),
    );
    expect(sealed).toHaveLength(4);
    const apiKey = (await ok(ENDPOINT_AS_OF, { webhookId })).webhookEndpoint.apiKey as string;
    for (const secret of [...sealed, apiKey]) expect(JSON.stringify(trail)).not.toContain(secret);
  });

  it("lets an auditor read another subscriber's endpoints, subscriptions and trails, and change nothing (FORBIDDEN)", async () => {
    const { webhookId, subscriptionId } = await aliceEndpointWithHistory();
    const list = (await ok(ENDPOINTS_OF, { subscriber: alice.address }, auditor)).webhookEndpoints;
    expect(list.edges.map((edge: any) => edge.node.webhookId)).toContain(webhookId);
    // Auditors read, but only an owner opens secrets.
    expect(
      list.edges.every((edge: any) => edge.node.subscriber === alice.address && edge.node.apiKey === "[redacted]"),
    ).toBe(true);
    expect((await ok(ENDPOINT_AS_OF, { webhookId }, auditor)).webhookEndpoint).toMatchObject({
      url: "https://example.com/v2",
      apiKey: "[redacted]",
    });
    expect((await ok(AUDIT_TRAIL, { webhookId }, auditor)).auditTrail).toHaveLength(3);
    expect((await ok(AUDIT_TRAIL, { subscriptionId }, auditor)).auditTrail.map((event: any) => event.type)).toEqual([
      "WebhookSubscriptionCreated",
    ]);

    const before = await webhookEventCount();
    const mutations: [string, object][] = [
      [CREATE_ENDPOINT, { url: "https://example.com/auditor" }],
      [UPDATE_URL, { webhookId, url: "https://example.com/auditor" }],
      [ROTATE, { webhookId }],
      [PAUSE, { webhookId }],
      [DELETE_ENDPOINT, { webhookId }],
      [CREATE_SUBSCRIPTION, { webhookId }],
      [DELETE_SUBSCRIPTION, { webhookId, subscriptionId }],
    ];
    for (const [mutation, variables] of mutations)
      expect(errorCode(await gql(mutation, variables, auditor)), mutation).toBe("FORBIDDEN");
    expect(await webhookEventCount()).toBe(before);
  });

  it("answers NOT_FOUND to a subscriber reading another's trail or past state, as for ids that do not exist", async () => {
    const { webhookId, subscriptionId } = await aliceEndpointWithHistory();
    const now = new Date().toISOString();
    const unknown = "00000000-0000-4000-8000-000000000000";
    const reads: [string, object][] = [
      [AUDIT_TRAIL, { webhookId }],
      [AUDIT_TRAIL, { subscriptionId }],
      [AUDIT_TRAIL, { webhookId: unknown }],
      [AUDIT_TRAIL, { deliveryId: unknown }],
      [AUDIT_TRAIL, { webhookId: "not-a-uuid" }],
      [ENDPOINT_AS_OF, { webhookId, asOf: now }],
      [SUBSCRIPTION_AS_OF, { subscriptionId, asOf: now }],
    ];
    for (const [query, variables] of reads) {
      const response = await gql(query, variables, bob);
      expect(errorCode(response), JSON.stringify(variables)).toBe("NOT_FOUND");
      expect(JSON.stringify(response)).not.toContain(alice.address);
    }
    // Admins read everything.
    expect((await ok(AUDIT_TRAIL, { webhookId }, admin)).auditTrail).toHaveLength(3);
  });

  it("answers webhookEndpoint(asOf) with the URL before an update, and the deleted endpoint as it stood before deletion", async () => {
    const beforeCreation = new Date(Date.now() - 1).toISOString();
    const { webhookEndpoint } = (await ok(CREATE_ENDPOINT, { url: "https://example.com/first" })).createWebhookEndpoint;
    const { webhookId } = webhookEndpoint;
    const { webhookSubscription } = (await ok(CREATE_SUBSCRIPTION, { webhookId })).createWebhookSubscription;
    // asOf is a millisecond instant: 5 ms on either side puts it strictly between two changes.
    await sleep(5);
    const afterCreation = new Date().toISOString();
    await sleep(5);
    await ok(UPDATE_URL, { webhookId, url: "https://example.com/second" });
    await ok(PAUSE, { webhookId });
    await sleep(5);
    const afterUpdate = new Date().toISOString();
    await sleep(5);
    await ok(DELETE_ENDPOINT, { webhookId });

    const asOf = async (time: string) => gql(ENDPOINT_AS_OF, { webhookId, asOf: time }, alice);
    expect((await asOf(afterCreation)).data!.webhookEndpoint).toEqual({
      ...webhookEndpoint,
      url: "https://example.com/first",
      status: "ACTIVE",
    });
    expect((await asOf(afterUpdate)).data!.webhookEndpoint).toMatchObject({
      url: "https://example.com/second",
      status: "PAUSED",
    });
    expect(errorCode(await asOf(beforeCreation))).toBe("NOT_FOUND");
    expect(errorCode(await asOf(new Date().toISOString()))).toBe("NOT_FOUND");
    // Now (no asOf) it is gone from the read model; its trail is not.
    expect(errorCode(await gql(ENDPOINT_AS_OF, { webhookId }, alice))).toBe("NOT_FOUND");
    const trail = (await ok(AUDIT_TRAIL, { webhookId }, auditor)).auditTrail.map((event: any) => event.type);
    expect(trail).toEqual([
      "WebhookEndpointCreated",
      "WebhookEndpointUpdated",
      "WebhookEndpointPaused",
      "WebhookEndpointDeleted",
    ]);

    const subscriptionAsOf = await gql(
      SUBSCRIPTION_AS_OF,
      { subscriptionId: webhookSubscription.subscriptionId, asOf: afterCreation },
      alice,
    );
    expect(subscriptionAsOf.data!.webhookSubscription).toEqual({
      subscriptionId: webhookSubscription.subscriptionId,
      webhookId,
      actions: ["create"],
    });
  });

  it("shows endpoint health on the endpoint (status, disabledReason, failingSince), and resuming enables a disabled endpoint", async () => {
    const { webhookEndpoint } = (await ok(CREATE_ENDPOINT, { url: "https://example.com/health" }))
      .createWebhookEndpoint;
    const { webhookId } = webhookEndpoint;
    const HEALTH = `query($webhookId: String!) { webhookEndpoint(webhookId: $webhookId) { status disabledReason failingSince } }`;
    // What the delivery side appends when attempts fail and then one answers 410 Gone.
    const stream = `endpoint-${webhookId}`;
    const metadata = eventMetadata("system:endpoint-health");
    const append = async (event: WebhookEndpointFailing | WebhookEndpointDisabled) => {
      const last = (await running.herald.store.readStream(stream)).at(-1)!;
      const { position } = await running.herald.store.append(stream, [{ ...event, metadata }], last.revision);
      await running.herald.projections.get("webhook-endpoints")!.waitFor(position, 5000);
    };
    await append({ type: "WebhookEndpointFailing", data: { webhookId, since: 1_700_000_000_000 } });
    expect((await ok(HEALTH, { webhookId })).webhookEndpoint).toEqual({
      status: "FAILING",
      disabledReason: null,
      failingSince: 1_700_000_000_000,
    });
    await append({ type: "WebhookEndpointDisabled", data: { webhookId, reason: "gone", at: 1_700_000_001_000 } });
    expect((await ok(HEALTH, { webhookId }, auditor)).webhookEndpoint).toMatchObject({
      status: "DISABLED",
      disabledReason: "GONE",
    });
    await ok(
      `mutation($webhookId: String!) { resumeWebhookEndpoint(input: { webhookId: $webhookId }) { webhookEndpoint { status } } }`,
      { webhookId },
    );
    expect((await ok(HEALTH, { webhookId })).webhookEndpoint).toEqual({
      status: "ACTIVE",
      disabledReason: null,
      failingSince: null,
    });
    const trail = (await ok(AUDIT_TRAIL, { webhookId })).auditTrail as Record<string, any>[];
    expect(trail.map((event) => [event.type, event.actor])).toEqual([
      ["WebhookEndpointCreated", alice.address],
      ["WebhookEndpointFailing", "system:endpoint-health"],
      ["WebhookEndpointDisabled", "system:endpoint-health"],
      ["WebhookEndpointResumed", alice.address],
    ]);
  });

  it("refuses an auditTrail naming no entity or two, and an asOf that is not an ISO-8601 time (BAD_USER_INPUT)", async () => {
    const { webhookId, subscriptionId } = await aliceEndpointWithHistory();
    for (const variables of [{}, { webhookId, subscriptionId }]) {
      expect(errorCode(await gql(AUDIT_TRAIL, variables, alice))).toBe("BAD_USER_INPUT");
    }
    for (const asOf of ["yesterday", "March 7", "2026-13-45T99:00:00Z"]) {
      const response = await gql(ENDPOINT_AS_OF, { webhookId, asOf }, alice);
      expect(response.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "asOf" });
    }
  });
});
