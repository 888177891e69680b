import type { PrivateKeyAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEED_COLLECTION } from "../support/fixtures.js";
import { errorCode, type GraphqlCall, type GraphqlResponse, graphqlClient } from "../support/graphql-client.js";
import { newAccount, TEST_SIWE_DOMAIN } from "../support/siwe.js";
import { startTestHerald, type TestHerald } from "../support/test-herald.js";

const CREATE_ENDPOINT = `mutation($url: String!) { createWebhookEndpoint(input: { url: $url }) { webhookEndpoint { webhookId } } }`;
const DELETE_ENDPOINT = `mutation($webhookId: String!) { deleteWebhookEndpoint(input: { webhookId: $webhookId }) { success } }`;
const CREATE_SUBSCRIPTION = `mutation($webhookId: String!) {
  createWebhookSubscription(input: { webhookId: $webhookId, type: "asset-link", actions: ["create"], collectionId: "${SEED_COLLECTION}" }) {
    webhookSubscription { subscriptionId }
  }
}`;
const DELETE_SUBSCRIPTION = `mutation($webhookId: String!, $subscriptionId: String!) {
  deleteWebhookSubscription(input: { webhookId: $webhookId, subscriptionId: $subscriptionId }) { success }
}`;

describe("quotas: endpoints per subscriber and subscriptions per endpoint, at command time", () => {
  let running: TestHerald;
  let gql: GraphqlCall;
  const alice = newAccount();
  const bob = newAccount();
  const admin = newAccount();

  beforeAll(async () => {
    running = await startTestHerald({
      nats: false,
      env: {
        HERALD_SIWE_DOMAIN: TEST_SIWE_DOMAIN,
        HERALD_ADMIN_ADDRESSES: admin.address,
        HERALD_MAX_ENDPOINTS_PER_SUBSCRIBER: "3",
        HERALD_MAX_SUBSCRIPTIONS_PER_ENDPOINT: "2",
      },
    });
    gql = graphqlClient(running.url, TEST_SIWE_DOMAIN);
  });

  afterAll(async () => {
    await running?.cleanup();
  });

  /** Events subscribers' commands write: a refused create must not change this. */
  const written = async () =>
    (
      await running.herald.store.readAll("start", {
        filter: { streamPrefixes: ["endpoint-", "subscription-"] },
        maxCount: 100_000,
      })
    ).length;

  async function ok(query: string, variables: object, account: PrivateKeyAccount): Promise<Record<string, any>> {
    const response = await gql(query, variables, account);
    expect(response.errors).toBeUndefined();
    return response.data!;
  }
  const createEndpoint = async (account: PrivateKeyAccount) =>
    (await ok(CREATE_ENDPOINT, { url: "https://example.com/hook" }, account)).createWebhookEndpoint.webhookEndpoint
      .webhookId as string;
  const createSubscription = async (account: PrivateKeyAccount, webhookId: string) =>
    (await ok(CREATE_SUBSCRIPTION, { webhookId }, account)).createWebhookSubscription.webhookSubscription
      .subscriptionId as string;

  async function refusedWritingNothing(call: () => Promise<GraphqlResponse>): Promise<GraphqlResponse> {
    const before = await written();
    const response = await call();
    expect(await written()).toBe(before);
    return response;
  }

  it("refuses the quota + 1'th endpoint with QUOTA_EXCEEDED, writing nothing; deleting one frees a slot", async () => {
    const endpoints = [await createEndpoint(alice), await createEndpoint(alice), await createEndpoint(alice)];
    const refused = await refusedWritingNothing(() => gql(CREATE_ENDPOINT, { url: "https://example.com/hook" }, alice));
    expect(refused.errors?.[0]).toMatchObject({
      message:
        "at most 3 webhook endpoints per subscriber: delete an endpoint you no longer need to make room, or ask herald's operator for a higher limit",
      extensions: { code: "QUOTA_EXCEEDED" },
    });
    expect(refused.data).toBeNull();
    // Another subscriber's quota is their own.
    await createEndpoint(bob);

    await ok(DELETE_ENDPOINT, { webhookId: endpoints[0] }, alice);
    await createEndpoint(alice);
    expect(errorCode(await gql(CREATE_ENDPOINT, { url: "https://example.com/hook" }, alice))).toBe("QUOTA_EXCEEDED");
  });

  it("refuses the quota + 1'th subscription of an endpoint, admins' too, and says nothing of it to others", async () => {
    const webhookId = await createEndpoint(admin);
    const subscriptions = [await createSubscription(admin, webhookId), await createSubscription(admin, webhookId)];
    const refused = await refusedWritingNothing(() => gql(CREATE_SUBSCRIPTION, { webhookId }, admin));
    expect(refused.errors?.[0]).toMatchObject({
      message:
        "at most 2 webhook subscriptions per endpoint: delete a subscription of this endpoint to make room, or ask herald's operator for a higher limit",
      extensions: { code: "QUOTA_EXCEEDED" },
    });
    // Someone else's endpoint is not found, full or not.
    expect(errorCode(await refusedWritingNothing(() => gql(CREATE_SUBSCRIPTION, { webhookId }, bob)))).toBe(
      "NOT_FOUND",
    );

    await ok(DELETE_SUBSCRIPTION, { webhookId, subscriptionId: subscriptions[0] }, admin);
    await createSubscription(admin, webhookId);
    expect(errorCode(await gql(CREATE_SUBSCRIPTION, { webhookId }, admin))).toBe("QUOTA_EXCEEDED");
  });

  it("an admin subscribing a subscriber's endpoint is held to that endpoint's quota", async () => {
    const carol = newAccount();
    const webhookId = await createEndpoint(carol);
    await createSubscription(carol, webhookId);
    await createSubscription(admin, webhookId);
    expect(errorCode(await refusedWritingNothing(() => gql(CREATE_SUBSCRIPTION, { webhookId }, admin)))).toBe(
      "QUOTA_EXCEEDED",
    );
    expect(errorCode(await gql(CREATE_SUBSCRIPTION, { webhookId }, carol))).toBe("QUOTA_EXCEEDED");
  });

  it("lets exactly the free slots through when creates race in one process", async () => {
    const dave = newAccount();
    await createEndpoint(dave);
    const before = await written();
    const raced = await Promise.all(
      Array.from({ length: 6 }, () => gql(CREATE_ENDPOINT, { url: "https://example.com/hook" }, dave)),
    );
    expect(raced.filter((response) => !response.errors)).toHaveLength(2);
    expect(raced.filter((response) => errorCode(response) === "QUOTA_EXCEEDED")).toHaveLength(4);
    expect(await written()).toBe(before + 2);
  });
});
