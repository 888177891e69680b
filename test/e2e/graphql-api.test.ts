import fc from "fast-check";
import type { Kysely } from "kysely";
import type { PrivateKeyAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WebhookEndpointsTables } from "../../src/adapters/db/schema.js";
import { allProjections } from "../../src/app/all-projections.js";
import { loadConfig } from "../../src/app/config.js";
import { type Herald, startHerald } from "../../src/app/herald.js";
import { createLogger } from "../../src/app/logger.js";
import { rebuildProjections } from "../../src/projections/rebuild.js";
import { SEED_COLLECTION } from "../support/fixtures.js";
import { newAccount, signedToken, TEST_SIWE_DOMAIN } from "../support/siwe.js";
import { startTestHerald, type TestHerald } from "../support/test-herald.js";

// The documents and variables of the Asset Register's subscription API documentation, verbatim.
const CREATE_WEBHOOK_ENDPOINT = `mutation CreateWebhookEndpoint($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    webhookEndpoint {
      id
      webhookId
      subscriber
      url
      apiKey
      retries
      createdAt
    }
  }
}`;
const CREATE_WEBHOOK_ENDPOINT_VARIABLES = { input: { url: "https://example.com/webhook", retries: 5 } };
const CREATE_WEBHOOK_SUBSCRIPTION = `mutation CreateWebhookSubscription($input: CreateWebhookSubscriptionInput!) {
  createWebhookSubscription(input: $input) {
    webhookSubscription {
      id
      subscriptionId
      webhookId
      type
      actions
      collectionId
      createdAt
    }
  }
}`;
const CREATE_WEBHOOK_SUBSCRIPTION_VARIABLES = {
  input: {
    type: "asset-link",
    actions: ["create", "delete"],
    collectionId: SEED_COLLECTION,
    webhookId: "8fafd82a-ca5e-4495-9ad4-d28c4ea6adf0",
  },
};

const ENDPOINT_FIELDS = "id webhookId subscriber url apiKey retries createdAt";
const SUBSCRIPTION_FIELDS = "id subscriptionId webhookId type actions collectionId createdAt";
const QUERY_ENDPOINT = `query($webhookId: String!) { webhookEndpoint(webhookId: $webhookId) { ${ENDPOINT_FIELDS} } }`;
const QUERY_ENDPOINTS = `query($first: Float, $after: String, $last: Float, $before: String, $subscriber: String) {
  webhookEndpoints(first: $first, after: $after, last: $last, before: $before, subscriber: $subscriber) {
    edges { cursor node { ${ENDPOINT_FIELDS} } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    total
  }
}`;
const QUERY_SUBSCRIPTION = `query($subscriptionId: String!) { webhookSubscription(subscriptionId: $subscriptionId) { ${SUBSCRIPTION_FIELDS} } }`;
const QUERY_SUBSCRIPTIONS = `query($webhookId: String!) {
  webhookSubscriptions(webhookId: $webhookId) { edges { cursor node { ${SUBSCRIPTION_FIELDS} } } pageInfo { hasNextPage hasPreviousPage } total }
}`;
const QUERY_NODE = `query($id: String!) { node(id: $id) { id ... on WebhookEndpoint { webhookId } ... on WebhookSubscription { subscriptionId } } }`;

interface GraphqlResponse {
  status: number;
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: { code?: string; field?: string } }[];
}

describe("GraphQL API (herald in-process, real PostgreSQL, real SIWE signatures)", () => {
  let running: TestHerald;
  let herald: Herald;
  /** Every secret the API handed out or accepted: none may ever reach a log line. */
  const secrets = new Set<string>();
  const alice = newAccount();
  const bob = newAccount();
  const admin = newAccount();
  const tokens = new Map<PrivateKeyAccount, string>();

  async function tokenOf(account: PrivateKeyAccount): Promise<string> {
    let token = tokens.get(account);
    if (!token) {
      token = await signedToken(account, TEST_SIWE_DOMAIN);
      tokens.set(account, token);
      secrets.add(token);
    }
    return token;
  }

  async function gql(
    query: string,
    variables: object,
    auth: PrivateKeyAccount | string | undefined,
    scheme = "Bearer ",
  ): Promise<GraphqlResponse> {
    const token = typeof auth === "string" || auth === undefined ? auth : await tokenOf(auth);
    const response = await fetch(`${herald.url}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(token === undefined ? {} : { authorization: `${scheme}${token}` }),
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as Omit<GraphqlResponse, "status">;
    for (const value of JSON.stringify(body).match(/"(apiKey|signingSecret)":"([^"]+)"/g) ?? [])
      secrets.add(value.split('":"')[1]!.slice(0, -1));
    return { status: response.status, ...body };
  }

  const errorOf = (response: GraphqlResponse) => response.errors?.[0]?.extensions;

  /** Events in the streams subscribers write: a refused command must not change this. */
  async function webhookEventCount(): Promise<number> {
    const events = await herald.store.readAll("start", {
      filter: { streamPrefixes: ["endpoint-", "subscription-"] },
      maxCount: 100_000,
    });
    return events.length;
  }

  async function createEndpoint(account: PrivateKeyAccount, url = "https://example.com/webhook") {
    const response = await gql(CREATE_WEBHOOK_ENDPOINT, { input: { url } }, account);
    expect(response.errors).toBeUndefined();
    return response.data!.createWebhookEndpoint.webhookEndpoint as Record<string, any>;
  }

  async function createSubscription(account: PrivateKeyAccount, webhookId: string) {
    const response = await gql(
      CREATE_WEBHOOK_SUBSCRIPTION,
      { input: { ...CREATE_WEBHOOK_SUBSCRIPTION_VARIABLES.input, webhookId } },
      account,
    );
    expect(response.errors).toBeUndefined();
    return response.data!.createWebhookSubscription.webhookSubscription as Record<string, any>;
  }

  beforeAll(async () => {
    running = await startTestHerald({
      nats: false,
      env: {
        HERALD_SIWE_DOMAIN: TEST_SIWE_DOMAIN,
        HERALD_ALLOW_PRIVATE_TARGETS: "false",
        HERALD_ADMIN_ADDRESSES: admin.address,
        LOG_LEVEL: "debug",
      },
    });
    herald = running.herald;
  });

  afterAll(async () => {
    await running?.cleanup();
  });

  describe("the Asset Register client, unchanged", () => {
    it("creates an endpoint and a subscription with the seed's documents, then reads them with the four queries", async () => {
      const before = Date.now();
      const endpointResponse = await gql(CREATE_WEBHOOK_ENDPOINT, CREATE_WEBHOOK_ENDPOINT_VARIABLES, alice);
      expect(endpointResponse.status).toBe(200);
      expect(endpointResponse.errors).toBeUndefined();
      const endpoint = endpointResponse.data!.createWebhookEndpoint.webhookEndpoint;
      expect(endpoint).toEqual({
        id: expect.any(String),
        webhookId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        subscriber: alice.address,
        url: "https://example.com/webhook",
        apiKey: expect.stringMatching(/^.{32,}$/),
        retries: 5,
        createdAt: expect.any(Number),
      });
      expect(endpoint.createdAt).toBeGreaterThanOrEqual(before);
      expect(endpoint.createdAt).toBeLessThanOrEqual(Date.now());

      // The documentation's variables name a webhookId of their own; a real client sends the one it was
      // just given.
      const subscriptionVariables = {
        input: { ...CREATE_WEBHOOK_SUBSCRIPTION_VARIABLES.input, webhookId: endpoint.webhookId },
      };
      const subscriptionResponse = await gql(CREATE_WEBHOOK_SUBSCRIPTION, subscriptionVariables, alice);
      expect(subscriptionResponse.errors).toBeUndefined();
      const subscription = subscriptionResponse.data!.createWebhookSubscription.webhookSubscription;
      expect(subscription).toEqual({
        id: expect.any(String),
        subscriptionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        webhookId: endpoint.webhookId,
        type: "asset-link",
        actions: ["create", "delete"],
        collectionId: SEED_COLLECTION,
        createdAt: expect.any(Number),
      });

      // Read-your-writes: each query right after the mutations sees them.
      expect((await gql(QUERY_ENDPOINT, { webhookId: endpoint.webhookId }, alice)).data).toEqual({
        webhookEndpoint: endpoint,
      });
      const list = await gql(QUERY_ENDPOINTS, {}, alice);
      expect(list.data!.webhookEndpoints).toMatchObject({ total: 1, edges: [{ node: endpoint }] });
      expect((await gql(QUERY_SUBSCRIPTION, { subscriptionId: subscription.subscriptionId }, alice)).data).toEqual({
        webhookSubscription: subscription,
      });
      expect(
        (await gql(QUERY_SUBSCRIPTIONS, { webhookId: endpoint.webhookId }, alice)).data!.webhookSubscriptions,
      ).toMatchObject({
        total: 1,
        edges: [{ node: subscription }],
      });
      // Global ids resolve through node(id).
      expect((await gql(QUERY_NODE, { id: endpoint.id }, alice)).data).toEqual({
        node: { id: endpoint.id, webhookId: endpoint.webhookId },
      });
      expect((await gql(QUERY_NODE, { id: subscription.id }, alice)).data).toEqual({
        node: { id: subscription.id, subscriptionId: subscription.subscriptionId },
      });
    });

    it("keeps the API key and signing secret sealed in events and in the read model", async () => {
      const endpoint = await createEndpoint(alice);
      const secret = (
        await gql(
          `query($id: String!) { webhookEndpoint(webhookId: $id) { signingSecret } }`,
          { id: endpoint.webhookId },
          alice,
        )
      ).data!.webhookEndpoint.signingSecret as string;
      expect(secret).toMatch(/^whsec_/);
      const events = await herald.store.readStream(`endpoint-${endpoint.webhookId}`);
      expect(events.map((event) => event.type)).toEqual(["WebhookEndpointCreated"]);
      expect(events[0]!.metadata.actor).toBe(alice.address);
      const stored = JSON.stringify(events[0]!.data);
      expect(stored).not.toContain(endpoint.apiKey);
      expect(stored).not.toContain(secret);
      expect(stored).toMatch(/"apiKey":"v1\./);
      const row = await (herald.database.db as unknown as Kysely<WebhookEndpointsTables>)
        .selectFrom("webhook_endpoints")
        .select(["api_key", "signing_secret"])
        .where("webhook_id", "=", endpoint.webhookId)
        .executeTakeFirstOrThrow();
      expect(row.api_key).toMatch(/^v1\./);
      expect(row.signing_secret).toMatch(/^v1\./);
      expect(JSON.stringify(row)).not.toContain(endpoint.apiKey);
      expect(JSON.stringify(row)).not.toContain(secret);
    });
  });

  describe("sign-in", () => {
    const hour = 3_600_000;
    it.each([
      [
        "an expired token",
        async () =>
          signedToken(alice, TEST_SIWE_DOMAIN, {
            issuedAt: new Date(Date.now() - 2 * hour),
            expirationTime: new Date(Date.now() - hour),
          }),
        "expirationTime has passed",
      ],
      ["a token for another domain", async () => signedToken(alice, "evil.test"), "domain must be herald.test"],
      [
        "a tampered message",
        async () => {
          const [message, signature] = (await signedToken(alice, TEST_SIWE_DOMAIN)).split(".");
          const text = Buffer.from(message!, "base64url")
            .toString("utf8")
            .replace("Sign in to herald", "Sign in to herald, please");
          return `${Buffer.from(text).toString("base64url")}.${signature}`;
        },
        "signature does not match",
      ],
      [
        "a signature from another key",
        async () => {
          const [message] = (await signedToken(alice, TEST_SIWE_DOMAIN)).split(".");
          const text = Buffer.from(message!, "base64url").toString("utf8");
          return `${message}.${await bob.signMessage({ message: text })}`;
        },
        "signature does not match",
      ],
      ["no authorization header", async () => undefined, "authorization header is missing"],
      [
        "a token without expirationTime",
        async () => signedToken(alice, TEST_SIWE_DOMAIN, { expirationTime: undefined }),
        "expirationTime is required",
      ],
    ])("refuses %s with UNAUTHENTICATED, writing nothing", async (_name, makeToken, reason) => {
      const token = await makeToken();
      const before = await webhookEventCount();
      const create = await gql(CREATE_WEBHOOK_ENDPOINT, CREATE_WEBHOOK_ENDPOINT_VARIABLES, token);
      expect(create.status).toBe(200);
      expect(create.data).toBeNull();
      expect(errorOf(create)?.code).toBe("UNAUTHENTICATED");
      expect(create.errors![0]!.message).toContain(reason);
      expect((await gql(QUERY_ENDPOINTS, {}, token)).errors![0]!.extensions!.code).toBe("UNAUTHENTICATED");
      expect(await webhookEventCount()).toBe(before);
    });
  });

  describe("input rules", () => {
    it.each<[string, object, string]>([
      ["retries 21", { url: "https://example.com/webhook", retries: 21 }, "retries"],
      ["retries -1", { url: "https://example.com/webhook", retries: -1 }, "retries"],
      ["a relative url", { url: "not a url", retries: 5 }, "url"],
      ["an ftp url", { url: "ftp://example.com/webhook" }, "url"],
      ["a loopback url", { url: "http://127.0.0.1:8080/hook" }, "url"],
      ["the cloud metadata url", { url: "http://169.254.169.254/latest/meta-data" }, "url"],
      ["localhost", { url: "http://localhost/hook" }, "url"],
      ...[
        "http://10.0.0.5/hook",
        "http://172.16.0.1/hook",
        "http://192.168.0.10/hook",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://2130706433/hook",
        "http://0x7f.1/hook",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[fc00::1]/hook",
        "http://[::ffff:169.254.169.254]/hook",
        "http://[64:ff9b::a9fe:a9fe]/hook",
        "http://metadata.google.internal/hook",
      ].map((url): [string, object, string] => [`the private target ${url}`, { url }, "url"]),
      ["a url over 2048 characters", { url: `https://example.com/${"a".repeat(2048)}` }, "url"],
      ["a url with NUL", { url: "https://example.com/\u0000" }, "url"],
    ])("refuses an endpoint with %s: BAD_USER_INPUT on the field, nothing written", async (_name, input, field) => {
      const before = await webhookEventCount();
      const response = await gql(CREATE_WEBHOOK_ENDPOINT, { input }, alice);
      expect(errorOf(response)).toEqual({ code: "BAD_USER_INPUT", field });
      expect(await webhookEventCount()).toBe(before);
    });

    it("refuses moving an endpoint to a private target: BAD_USER_INPUT, nothing written", async () => {
      const { webhookId } = await createEndpoint(alice);
      const before = await webhookEventCount();
      for (const url of [
        "http://127.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://100.64.0.1/hook",
      ]) {
        const response = await gql(
          `mutation($webhookId: String!, $url: String!) { updateWebhookEndpoint(input: { webhookId: $webhookId, url: $url }) { webhookEndpoint { url } } }`,
          { webhookId, url },
          alice,
        );
        expect(errorOf(response), url).toEqual({ code: "BAD_USER_INPUT", field: "url" });
      }
      expect(await webhookEventCount()).toBe(before);
    });

    it.each([
      [{ type: "" }, "type"],
      [{ type: "t".repeat(65) }, "type"],
      [{ type: "asset\u0000link" }, "type"],
      [{ actions: [] }, "actions"],
      [{ actions: ["create", "create"] }, "actions"],
      [{ actions: ["create", ""] }, "actions"],
      [{ collectionId: "not-a-collection" }, "collectionId"],
    ])("refuses a subscription with %j: BAD_USER_INPUT on %s, nothing written", async (change, field) => {
      const { webhookId } = await createEndpoint(alice);
      const before = await webhookEventCount();
      const input = { ...CREATE_WEBHOOK_SUBSCRIPTION_VARIABLES.input, webhookId, ...change };
      const response = await gql(CREATE_WEBHOOK_SUBSCRIPTION, { input }, alice);
      expect(errorOf(response)).toEqual({ code: "BAD_USER_INPUT", field });
      expect(await webhookEventCount()).toBe(before);
    });

    it("normalises collection ids to lower case", async () => {
      const { webhookId } = await createEndpoint(alice);
      const input = {
        ...CREATE_WEBHOOK_SUBSCRIPTION_VARIABLES.input,
        webhookId,
        collectionId: "1:EVM:0x6BCA6DE2DBDC4E0D41F7273011785EA16BA47182",
      };
      const response = await gql(CREATE_WEBHOOK_SUBSCRIPTION, { input }, alice);
      expect(response.data!.createWebhookSubscription.webhookSubscription.collectionId).toBe(SEED_COLLECTION);
    });

    it("refuses a subscription to an endpoint that does not exist with NOT_FOUND", async () => {
      const before = await webhookEventCount();
      const response = await gql(CREATE_WEBHOOK_SUBSCRIPTION, CREATE_WEBHOOK_SUBSCRIPTION_VARIABLES, alice);
      expect(errorOf(response)?.code).toBe("NOT_FOUND");
      expect(await webhookEventCount()).toBe(before);
    });
  });

  describe("ownership", () => {
    it("answers NOT_FOUND for another subscriber's ids, on every query and mutation, writing nothing", async () => {
      const endpoint = await createEndpoint(alice);
      const subscription = await createSubscription(alice, endpoint.webhookId);
      const { webhookId } = endpoint;
      const { subscriptionId } = subscription;
      const before = await webhookEventCount();
      const attempts: [string, object][] = [
        [QUERY_ENDPOINT, { webhookId }],
        [QUERY_SUBSCRIPTION, { subscriptionId }],
        [QUERY_SUBSCRIPTIONS, { webhookId }],
        [QUERY_NODE, { id: endpoint.id }],
        [QUERY_NODE, { id: subscription.id }],
        [
          `mutation($webhookId: String!) { updateWebhookEndpoint(input: { webhookId: $webhookId, retries: 1 }) { webhookEndpoint { id } } }`,
          { webhookId },
        ],
        [
          `mutation($webhookId: String!) { rotateWebhookEndpointApiKey(input: { webhookId: $webhookId }) { webhookEndpoint { apiKey } } }`,
          { webhookId },
        ],
        [
          `mutation($webhookId: String!) { pauseWebhookEndpoint(input: { webhookId: $webhookId }) { webhookEndpoint { id } } }`,
          { webhookId },
        ],
        [
          `mutation($webhookId: String!) { deleteWebhookEndpoint(input: { webhookId: $webhookId }) { success } }`,
          { webhookId },
        ],
        [CREATE_WEBHOOK_SUBSCRIPTION, { input: { ...CREATE_WEBHOOK_SUBSCRIPTION_VARIABLES.input, webhookId } }],
        [
          `mutation($webhookId: String!, $subscriptionId: String!) { deleteWebhookSubscription(input: { webhookId: $webhookId, subscriptionId: $subscriptionId }) { success } }`,
          { webhookId, subscriptionId },
        ],
      ];
      for (const [query, variables] of attempts) {
        const response = await gql(query, variables, bob);
        expect(errorOf(response)?.code, query).toBe("NOT_FOUND");
        expect(JSON.stringify(response)).not.toContain(alice.address);
      }
      expect(await webhookEventCount()).toBe(before);
      const bobs = await gql(QUERY_ENDPOINTS, {}, bob);
      expect(bobs.data!.webhookEndpoints.edges.map((edge: any) => edge.node.webhookId)).not.toContain(webhookId);
      expect(errorOf(await gql(QUERY_ENDPOINTS, { subscriber: alice.address }, bob))?.code).toBe("FORBIDDEN");
    });

    it("lets admins see everyone's endpoints and filter by subscriber, without opening their secrets", async () => {
      const endpoint = await createEndpoint(bob);
      // The newest page: the endpoint just created is on it, however many others exist.
      const all = await gql(QUERY_ENDPOINTS, { last: 10 }, admin);
      const ids = all.data!.webhookEndpoints.edges.map((edge: any) => edge.node.webhookId);
      expect(ids).toContain(endpoint.webhookId);
      const bobs = await gql(QUERY_ENDPOINTS, { subscriber: bob.address.toLowerCase() }, admin);
      expect(bobs.data!.webhookEndpoints.edges.every((edge: any) => edge.node.subscriber === bob.address)).toBe(true);
      expect(bobs.data!.webhookEndpoints.total).toBeGreaterThan(0);
      expect(bobs.data!.webhookEndpoints.total).toBeLessThan(all.data!.webhookEndpoints.total);
      const seen = await gql(QUERY_ENDPOINT, { webhookId: endpoint.webhookId }, admin);
      // apiKey is String! in the Asset Register's schema: admins read a placeholder, not null and not the key.
      expect(seen.data!.webhookEndpoint).toMatchObject({
        webhookId: endpoint.webhookId,
        subscriber: bob.address,
        apiKey: "[redacted]",
      });
    });
  });

  describe("operations as Futureverse's Asset Register SDK writes them", () => {
    // sdk-unity-asset-register declares one variable per argument, with the real schema's types.
    const SDK_ENDPOINTS = `query ($first: Float, $after: String) { webhookEndpoints (first: $first, after: $after) {
      edges { node { id webhookId subscriber url apiKey retries createdAt } cursor }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor nextPage } total } }`;
    const SDK_CREATE_ENDPOINT = `mutation ($input: CreateWebhookEndpointInput!) { createWebhookEndpoint (input: $input) { webhookEndpoint { id webhookId retries apiKey } } }`;
    const SDK_CREATE_SUBSCRIPTION = `mutation ($webhookId: String!, $type: String!, $actions: [String!]!, $collectionId: CollectionId!) {
      createWebhookSubscription (input: { webhookId: $webhookId, type: $type, actions: $actions, collectionId: $collectionId }) { webhookSubscription { id collectionId } } }`;
    const SDK_SUBSCRIPTIONS = `query ($webhookId: String!, $first: Float) { webhookSubscriptions (webhookId: $webhookId, first: $first) { edges { node { subscriptionId } } pageInfo { nextPage } total } }`;
    const SDK_NODE = `query ($id: String!) { node (id: $id) { id ... on WebhookEndpoint { webhookId } ... on WebhookSubscription { subscriptionId } } }`;

    it("create with Float retries, subscribe with a CollectionId variable, list with Float first, fetch with node(id: String!)", async () => {
      const account = newAccount();
      const created = await gql(
        SDK_CREATE_ENDPOINT,
        { input: { url: "https://example.com/sdk", retries: 3.0 } },
        account,
      );
      expect(created.errors).toBeUndefined();
      const endpoint = created.data!.createWebhookEndpoint.webhookEndpoint;
      expect(endpoint.retries).toBe(3);
      const subscribed = await gql(
        SDK_CREATE_SUBSCRIPTION,
        {
          webhookId: endpoint.webhookId,
          type: "asset-link",
          actions: ["create"],
          collectionId: CREATE_WEBHOOK_SUBSCRIPTION_VARIABLES.input.collectionId,
        },
        account,
      );
      expect(subscribed.errors).toBeUndefined();
      expect(subscribed.data!.createWebhookSubscription.webhookSubscription.collectionId).toBe(
        CREATE_WEBHOOK_SUBSCRIPTION_VARIABLES.input.collectionId,
      );
      const subscriptions = await gql(SDK_SUBSCRIPTIONS, { webhookId: endpoint.webhookId, first: 10.0 }, account);
      expect(subscriptions.data!.webhookSubscriptions).toMatchObject({ total: 1, pageInfo: { nextPage: null } });
      for (const id of [endpoint.id, subscribed.data!.createWebhookSubscription.webhookSubscription.id]) {
        const node = await gql(SDK_NODE, { id }, account);
        expect(node.errors).toBeUndefined();
        expect(node.data!.node.id).toBe(id);
      }
      expect(errorOf(await gql(SDK_NODE, { id: "not-a-node" }, account))).toMatchObject({ code: "NOT_FOUND" });
    });

    it("pages 10 at a time by default, with nextPage to pass as after", async () => {
      const account = newAccount();
      for (let i = 0; i < 12; i++) await createEndpoint(account, `https://example.com/page-${i}`);
      const first = await gql(SDK_ENDPOINTS, {}, account);
      expect(first.data!.webhookEndpoints.edges).toHaveLength(10);
      expect(first.data!.webhookEndpoints.total).toBe(12);
      const { pageInfo } = first.data!.webhookEndpoints;
      expect(pageInfo).toMatchObject({ hasNextPage: true, nextPage: pageInfo.endCursor });
      const rest = await gql(SDK_ENDPOINTS, { after: pageInfo.nextPage }, account);
      expect(rest.data!.webhookEndpoints.edges).toHaveLength(2);
      expect(rest.data!.webhookEndpoints.pageInfo).toMatchObject({ hasNextPage: false, nextPage: null });
      // A null first is the default too.
      expect((await gql(SDK_ENDPOINTS, { first: null }, account)).data!.webhookEndpoints.edges).toHaveLength(10);
    });

    it("refuses a non-integral or out-of-range Float with BAD_USER_INPUT naming the field, writing nothing", async () => {
      const account = newAccount();
      const before = await webhookEventCount();
      expect(errorOf(await gql(SDK_ENDPOINTS, { first: 2.5 }, account))).toEqual({
        code: "BAD_USER_INPUT",
        field: "first",
      });
      expect(errorOf(await gql(SDK_ENDPOINTS, { first: -1 }, account))).toEqual({
        code: "BAD_USER_INPUT",
        field: "first",
      });
      expect(errorOf(await gql(QUERY_ENDPOINTS, { last: 1e300 }, account))).toEqual({
        code: "BAD_USER_INPUT",
        field: "last",
      });
      for (const retries of [2.5, -1, 21, 1e300]) {
        expect(
          errorOf(await gql(SDK_CREATE_ENDPOINT, { input: { url: "https://example.com/sdk", retries } }, account)),
        ).toMatchObject({ code: "BAD_USER_INPUT", field: "retries" });
      }
      expect(await webhookEventCount()).toBe(before);
    });

    it("accepts the SIWE token in Authorization with or without Bearer", async () => {
      const account = newAccount();
      await createEndpoint(account);
      for (const scheme of ["", "Bearer ", "bearer "]) {
        const response = await gql(SDK_ENDPOINTS, {}, account, scheme);
        expect(response.errors, scheme).toBeUndefined();
        expect(response.data!.webhookEndpoints.total).toBe(1);
      }
    });
  });

  describe("managing an endpoint", () => {
    const manage = (mutation: string, extra = "") =>
      `mutation($webhookId: String!) { ${mutation}(input: { webhookId: $webhookId ${extra} }) { webhookEndpoint { ${ENDPOINT_FIELDS} status signingSecret } } }`;

    it("updates, pauses, resumes, rotates and deletes, each as an event", async () => {
      const account = newAccount();
      const endpoint = await createEndpoint(account);
      const { webhookId } = endpoint;
      const { webhookSubscription } = (
        await gql(
          CREATE_WEBHOOK_SUBSCRIPTION,
          { input: { ...CREATE_WEBHOOK_SUBSCRIPTION_VARIABLES.input, webhookId } },
          account,
        )
      ).data!.createWebhookSubscription;

      const updated = await gql(
        manage("updateWebhookEndpoint", `, url: "https://example.org/hook", retries: 0`),
        { webhookId },
        account,
      );
      expect(updated.data!.updateWebhookEndpoint.webhookEndpoint).toMatchObject({
        url: "https://example.org/hook",
        retries: 0,
        status: "ACTIVE",
      });
      const paused = await gql(manage("pauseWebhookEndpoint"), { webhookId }, account);
      expect(paused.data!.pauseWebhookEndpoint.webhookEndpoint.status).toBe("PAUSED");
      expect(
        (await gql(`query($id: String!) { webhookEndpoint(webhookId: $id) { status } }`, { id: webhookId }, account))
          .data,
      ).toEqual({
        webhookEndpoint: { status: "PAUSED" },
      });
      const resumed = await gql(manage("resumeWebhookEndpoint"), { webhookId }, account);
      expect(resumed.data!.resumeWebhookEndpoint.webhookEndpoint.status).toBe("ACTIVE");
      const before = (
        await gql(
          `query($id: String!) { webhookEndpoint(webhookId: $id) { apiKey signingSecret } }`,
          { id: webhookId },
          account,
        )
      ).data!.webhookEndpoint;
      const rotated = (await gql(manage("rotateWebhookEndpointApiKey"), { webhookId }, account)).data!
        .rotateWebhookEndpointApiKey.webhookEndpoint;
      expect(rotated.apiKey).not.toBe(before.apiKey);
      expect(rotated.signingSecret).not.toBe(before.signingSecret);
      expect((await gql(QUERY_ENDPOINT, { webhookId }, account)).data!.webhookEndpoint.apiKey).toBe(rotated.apiKey);

      const deleted = await gql(
        `mutation($webhookId: String!) { deleteWebhookEndpoint(input: { webhookId: $webhookId }) { success } }`,
        { webhookId },
        account,
      );
      expect(deleted.data).toEqual({ deleteWebhookEndpoint: { success: true } });
      expect(errorOf(await gql(QUERY_ENDPOINT, { webhookId }, account))?.code).toBe("NOT_FOUND");
      expect(
        errorOf(await gql(QUERY_SUBSCRIPTION, { subscriptionId: webhookSubscription.subscriptionId }, account))?.code,
      ).toBe("NOT_FOUND");
      expect(errorOf(await gql(manage("pauseWebhookEndpoint"), { webhookId }, account))?.code).toBe("NOT_FOUND");

      const events = await herald.store.readStream(`endpoint-${webhookId}`);
      expect(events.map((event) => event.type)).toEqual([
        "WebhookEndpointCreated",
        "WebhookEndpointUpdated",
        "WebhookEndpointPaused",
        "WebhookEndpointResumed",
        "WebhookEndpointApiKeyRotated",
        "WebhookEndpointDeleted",
      ]);
    });

    it("decides again when concurrent commands race on one endpoint, losing no update", async () => {
      const { webhookId } = await createEndpoint(alice);
      const results = await Promise.all(
        // Values distinct from each other and from the default 5, so no update is a no-op that writes nothing.
        [11, 12, 13, 14, 15, 16].map((retries) =>
          gql(manage("updateWebhookEndpoint", `, retries: ${retries}`), { webhookId }, alice),
        ),
      );
      for (const result of results)
        expect(result.errors?.map((error) => error.extensions?.code) ?? []).not.toContain("INTERNAL_SERVER_ERROR");
      const applied = results.filter((result) => !result.errors).length;
      expect(applied).toBeGreaterThan(0);
      const events = await herald.store.readStream(`endpoint-${webhookId}`);
      // Every answered update is one event; a refused one (CONFLICT after too many lost races) is none.
      expect(events.length).toBe(1 + applied);
    });

    it("deletes a subscription", async () => {
      const { webhookId } = await createEndpoint(alice);
      const { subscriptionId } = await createSubscription(alice, webhookId);
      const deleted = await gql(
        `mutation($webhookId: String!, $subscriptionId: String!) { deleteWebhookSubscription(input: { webhookId: $webhookId, subscriptionId: $subscriptionId }) { success } }`,
        { webhookId, subscriptionId },
        alice,
      );
      expect(deleted.data).toEqual({ deleteWebhookSubscription: { success: true } });
      expect(errorOf(await gql(QUERY_SUBSCRIPTION, { subscriptionId }, alice))?.code).toBe("NOT_FOUND");
      expect((await gql(QUERY_SUBSCRIPTIONS, { webhookId }, alice)).data!.webhookSubscriptions.total).toBe(0);
    });
  });

  describe("connections", () => {
    it("pages forwards and backwards with cursors, at most 100 at a time", async () => {
      const account = newAccount();
      const created = [];
      for (let i = 0; i < 5; i++)
        created.push((await createEndpoint(account, `https://example.com/hook/${i}`)).webhookId);
      const ids = (response: GraphqlResponse) =>
        response.data!.webhookEndpoints.edges.map((edge: any) => edge.node.webhookId);

      const first = await gql(QUERY_ENDPOINTS, { first: 2 }, account);
      expect(ids(first)).toEqual(created.slice(0, 2));
      expect(first.data!.webhookEndpoints).toMatchObject({
        total: 5,
        pageInfo: { hasNextPage: true, hasPreviousPage: false },
      });
      const second = await gql(
        QUERY_ENDPOINTS,
        { first: 2, after: first.data!.webhookEndpoints.pageInfo.endCursor },
        account,
      );
      expect(ids(second)).toEqual(created.slice(2, 4));
      const last = await gql(QUERY_ENDPOINTS, { last: 2 }, account);
      expect(ids(last)).toEqual(created.slice(3));
      expect(last.data!.webhookEndpoints.pageInfo).toMatchObject({ hasPreviousPage: true });
      const previous = await gql(
        QUERY_ENDPOINTS,
        { last: 2, before: last.data!.webhookEndpoints.pageInfo.startCursor },
        account,
      );
      expect(ids(previous)).toEqual(created.slice(1, 3));

      expect(errorOf(await gql(QUERY_ENDPOINTS, { first: 101 }, account))).toEqual({
        code: "BAD_USER_INPUT",
        field: "first",
      });
      expect(errorOf(await gql(QUERY_ENDPOINTS, { last: 101 }, account))).toEqual({
        code: "BAD_USER_INPUT",
        field: "last",
      });
      expect(errorOf(await gql(QUERY_ENDPOINTS, { after: "bogus" }, account))).toEqual({
        code: "BAD_USER_INPUT",
        field: "after",
      });
    });

    it("refuses queries that would cost too much, with 400 rather than 500", async () => {
      const aliases = Array.from(
        { length: 3 },
        (_, i) =>
          `a${i}: deliveries(webhookId: "x", first: 100) { edges { node { attempts(first: 100) { number url } } } }`,
      );
      const response = await gql(`{ ${aliases.join(" ")} }`, {}, alice);
      expect(response.status).toBe(400);
      expect(errorOf(response)?.code).toBe("BAD_USER_INPUT");
      expect(response.errors![0]!.message).toContain("costs");
    });
  });

  describe("random input", () => {
    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: "grapheme" }),
      fc.string({ unit: "binary" }),
      fc.webUrl(),
      fc.constant(""),
    );
    const loose = fc.oneof(
      text,
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 3 }),
    );

    const serverFault = (response: GraphqlResponse) =>
      response.status >= 500 ||
      (response.errors ?? []).some((error) => error.extensions?.code === "INTERNAL_SERVER_ERROR");

    it("never answers 500 nor writes partially when creating endpoints", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record(
            {
              url: fc.oneof(text, fc.webUrl(), loose),
              retries: fc.oneof(fc.integer({ min: -5, max: 30 }), fc.integer(), loose),
            },
            { requiredKeys: [] },
          ),
          async (input) => {
            const before = await webhookEventCount();
            const response = await gql(CREATE_WEBHOOK_ENDPOINT, { input }, alice);
            expect(serverFault(response), JSON.stringify(response)).toBe(false);
            expect(await webhookEventCount()).toBe(before + (response.errors ? 0 : 1));
          },
        ),
        { numRuns: 60 },
      );
    });

    it("never answers 500 nor writes partially when creating subscriptions", async () => {
      const { webhookId } = await createEndpoint(alice);
      await fc.assert(
        fc.asyncProperty(
          fc.record(
            {
              webhookId: fc.oneof(fc.constant(webhookId), fc.uuid(), text),
              type: fc.oneof(fc.constant("asset-link"), text, loose),
              actions: fc.oneof(
                fc.array(fc.oneof(fc.constantFrom("create", "delete"), text), { maxLength: 40 }),
                loose,
              ),
              collectionId: fc.oneof(fc.constant(SEED_COLLECTION), text, loose),
            },
            { requiredKeys: [] },
          ),
          async (input) => {
            const before = await webhookEventCount();
            const response = await gql(CREATE_WEBHOOK_SUBSCRIPTION, { input }, alice);
            expect(serverFault(response), JSON.stringify(response)).toBe(false);
            expect(await webhookEventCount()).toBe(before + (response.errors ? 0 : 1));
          },
        ),
        { numRuns: 60 },
      );
    });

    it("never answers 500 nor writes partially for random updates, ids, cursors and page sizes", async () => {
      const { webhookId, id } = await createEndpoint(alice);
      const cursor = fc.oneof(
        text,
        fc.base64String({ maxLength: 40 }),
        fc.constant(Buffer.from(`{"id":"${webhookId}"}`).toString("base64url")),
      );
      const operations = fc.oneof(
        fc
          .record(
            {
              webhookId: fc.oneof(fc.constant(webhookId), fc.uuid(), text),
              url: fc.oneof(fc.webUrl(), loose),
              retries: loose,
            },
            { requiredKeys: [] },
          )
          .map(
            (input) =>
              [
                `mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { webhookEndpoint { webhookId } } }`,
                { input },
              ] as const,
          ),
        fc
          .record({ first: loose, last: loose, after: cursor, before: cursor, subscriber: loose }, { requiredKeys: [] })
          .map((variables) => [QUERY_ENDPOINTS, variables] as const),
        fc
          .oneof(fc.constant(id), text, fc.base64String({ maxLength: 60 }))
          .map((nodeId) => [QUERY_NODE, { id: nodeId }] as const),
        fc.oneof(fc.uuid(), text, loose).map((value) => [QUERY_ENDPOINT, { webhookId: value }] as const),
        fc.oneof(fc.uuid(), text, loose).map((value) => [QUERY_SUBSCRIPTIONS, { webhookId: value }] as const),
      );
      await fc.assert(
        fc.asyncProperty(operations, async ([query, variables]) => {
          const before = await webhookEventCount();
          const response = await gql(query, variables, alice);
          expect(serverFault(response), JSON.stringify(response)).toBe(false);
          const changed = query.startsWith("mutation") && !response.errors ? 1 : 0;
          expect(await webhookEventCount()).toBeLessThanOrEqual(before + changed);
        }),
        { numRuns: 100 },
      );
    });
  });

  describe("configuration", () => {
    it("turns introspection off with HERALD_PLAYGROUND=false and never serves a landing page from a CDN", async () => {
      const introspection = `{ __schema { queryType { name } } }`;
      expect((await gql(introspection, {}, undefined)).data).toEqual({ __schema: { queryType: { name: "Query" } } });
      const closed = await startHerald(
        loadConfig({ ...running.env, HERALD_PLAYGROUND: "false" }),
        createLogger("silent"),
      );
      try {
        const response = await fetch(`${closed.url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: introspection }),
        });
        expect(response.status).toBe(400);
        expect(((await response.json()) as GraphqlResponse).errors![0]!.extensions!.code).toBe(
          "GRAPHQL_VALIDATION_FAILED",
        );
      } finally {
        await closed.stop();
      }
      // The browser gets herald's own IDE: every script and style it loads is served by herald itself.
      const page = await (await fetch(`${herald.url}/graphql`, { headers: { accept: "text/html" } })).text();
      const sources = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
      expect(sources.length).toBeGreaterThan(0);
      for (const source of sources) expect(source.startsWith("/") || source.startsWith("data:")).toBe(true);
      expect(page).not.toMatch(/cdn/i);
    });
  });

  describe("read models", () => {
    it("answer the same after a rebuild from the event store", async () => {
      const answers = async () => {
        const endpoints = await gql(QUERY_ENDPOINTS, {}, alice);
        const subscriptions = await Promise.all(
          endpoints.data!.webhookEndpoints.edges.map((edge: any) =>
            gql(QUERY_SUBSCRIPTIONS, { webhookId: edge.node.webhookId }, alice),
          ),
        );
        return { endpoints, subscriptions, everyone: await gql(QUERY_ENDPOINTS, {}, admin) };
      };
      const before = await answers();
      expect(before.endpoints.data!.webhookEndpoints.total).toBeGreaterThan(3);
      // A rebuild takes the projections' lock: the running projections step aside first.
      await herald.projectionGroup.stop();
      await rebuildProjections({
        database: herald.database,
        store: herald.store,
        ...allProjections({ store: herald.store, logger: createLogger("silent"), config: herald.config }),
      });
      expect(await answers()).toEqual(before);
    });
  });

  it("never logs an API key, signing secret or token", () => {
    expect(secrets.size).toBeGreaterThan(10);
    expect(running.logs.length).toBeGreaterThan(10);
    const all = running.logs.join("\n");
    for (const secret of secrets) expect(all.includes(secret), "a secret is in the log").toBe(false);
  });
});
