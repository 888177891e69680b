import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import type { PrivateKeyAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createTenantToken } from "../../src/adapters/auth/tenant-token.js";
import { deliveryId } from "../../src/domain/delivery.js";
import type { TenantEvent } from "../../src/domain/ingest-events.js";
import { fixtureTenantEvents, SEED_COLLECTION } from "../support/fixtures.js";
import { type GraphqlResponse, postGraphql } from "../support/graphql-client.js";
import { newAccount, signedToken, TEST_SIWE_DOMAIN } from "../support/siwe.js";
import { startTestHerald, TEST_INGEST_TOKEN, type TestHerald } from "../support/test-herald.js";

/**
 * Every role × every resource × every operation, over real HTTP, against the answers documented in
 * the README (Webhook management, Audit, Waypoint). One table per credential kind.
 */

const TENANT_SECRET = "matrix-tenant-jwt-secret";
const TENANT_ADMIN_API_KEY = "matrix-tenant-admin-api-key";
const HOUR = 3_600_000;

const owner = newAccount();
const stranger = newAccount();
const admin = newAccount();
const auditor = newAccount();

// ---------------------------------------------------------------------------------------------
// SIWE bearer tokens × GraphQL
// ---------------------------------------------------------------------------------------------

type GraphqlRole =
  | "anonymous"
  | "owner"
  | "other subscriber"
  | "admin"
  | "auditor"
  | "expired token"
  | "malformed token"
  | "tenant key";

/** What the matrix expects: an error code, or how a successful answer looks to that caller. */
type GraphqlOutcome =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "ok"
  | "listed"
  | "not listed"
  | "secrets open"
  | "secrets sealed";

interface Resources {
  readonly webhookId: string;
  readonly subscriptionId: string;
  readonly endpointNodeId: string;
  readonly subscriptionNodeId: string;
  /** A delivery of a transaction to the endpoint; only the shared resources have one. */
  readonly deliveryId?: string;
}

interface GraphqlOperation {
  readonly name: string;
  readonly writes: boolean;
  readonly document: string;
  readonly variables: (resources: Resources) => object;
  /** Run by the owner first, on a fresh resource, to put it in the state the operation needs. */
  readonly setup?: string;
  /** The stream a successful answer created, beside the resources' own. */
  readonly created?: (data: Record<string, any>) => string;
  /** How a successful answer reads; "ok" unless the operation says more. */
  readonly success?: (data: Record<string, any>, resources: Resources) => GraphqlOutcome;
}

const CREATE_SUBSCRIPTION = `mutation($webhookId: String!) {
  createWebhookSubscription(input: { webhookId: $webhookId, type: "asset-link", actions: ["create"], collectionId: "${SEED_COLLECTION}" }) {
    webhookSubscription { id subscriptionId }
  }
}`;

const ref = (mutation: string, selection = "webhookEndpoint { webhookId }") =>
  `mutation($webhookId: String!) { ${mutation}(input: { webhookId: $webhookId }) { ${selection} } }`;

const OPERATIONS: readonly GraphqlOperation[] = [
  {
    name: "read endpoint",
    writes: false,
    document: `query($webhookId: String!) { webhookEndpoint(webhookId: $webhookId) { webhookId subscriber url } }`,
    variables: (r) => ({ webhookId: r.webhookId }),
  },
  {
    name: "open endpoint secrets",
    writes: false,
    document: `query($webhookId: String!) { webhookEndpoint(webhookId: $webhookId) { apiKey signingSecret } }`,
    variables: (r) => ({ webhookId: r.webhookId }),
    success: (data) => {
      const { apiKey, signingSecret } = data.webhookEndpoint as { apiKey: string; signingSecret: string | null };
      // apiKey is String! (as in the Asset Register's schema): sealed, it reads as a placeholder.
      if (apiKey !== "[redacted]" && signingSecret?.startsWith("whsec_")) return "secrets open";
      return apiKey === "[redacted]" && signingSecret === null ? "secrets sealed" : "ok";
    },
  },
  {
    name: "list endpoints",
    writes: false,
    document: `{ webhookEndpoints(first: 100) { edges { node { webhookId } } } }`,
    variables: () => ({}),
    success: (data, r) =>
      (data.webhookEndpoints.edges as { node: { webhookId: string } }[]).some(
        (edge) => edge.node.webhookId === r.webhookId,
      )
        ? "listed"
        : "not listed",
  },
  {
    name: "list the owner's endpoints",
    writes: false,
    document: `query($subscriber: String) { webhookEndpoints(first: 100, subscriber: $subscriber) { edges { node { webhookId } } } }`,
    variables: () => ({ subscriber: owner.address }),
    success: (data, r) =>
      (data.webhookEndpoints.edges as { node: { webhookId: string } }[]).some(
        (edge) => edge.node.webhookId === r.webhookId,
      )
        ? "listed"
        : "not listed",
  },
  {
    name: "node(endpoint)",
    writes: false,
    document: `query($id: String!) { node(id: $id) { id } }`,
    variables: (r) => ({ id: r.endpointNodeId }),
  },
  {
    name: "update endpoint",
    writes: true,
    document: `mutation($webhookId: String!) { updateWebhookEndpoint(input: { webhookId: $webhookId, retries: 3 }) { webhookEndpoint { webhookId } } }`,
    variables: (r) => ({ webhookId: r.webhookId }),
  },
  {
    name: "rotate api key",
    writes: true,
    document: ref("rotateWebhookEndpointApiKey"),
    variables: (r) => ({ webhookId: r.webhookId }),
  },
  {
    name: "pause endpoint",
    writes: true,
    document: ref("pauseWebhookEndpoint"),
    variables: (r) => ({ webhookId: r.webhookId }),
  },
  {
    name: "resume endpoint",
    writes: true,
    setup: ref("pauseWebhookEndpoint"),
    document: ref("resumeWebhookEndpoint"),
    variables: (r) => ({ webhookId: r.webhookId }),
  },
  {
    name: "delete endpoint",
    writes: true,
    document: ref("deleteWebhookEndpoint", "success"),
    variables: (r) => ({ webhookId: r.webhookId }),
  },
  {
    name: "read subscription",
    writes: false,
    document: `query($subscriptionId: String!) { webhookSubscription(subscriptionId: $subscriptionId) { subscriptionId } }`,
    variables: (r) => ({ subscriptionId: r.subscriptionId }),
  },
  {
    name: "list subscriptions",
    writes: false,
    document: `query($webhookId: String!) { webhookSubscriptions(webhookId: $webhookId) { total } }`,
    variables: (r) => ({ webhookId: r.webhookId }),
  },
  {
    name: "node(subscription)",
    writes: false,
    document: `query($id: String!) { node(id: $id) { id } }`,
    variables: (r) => ({ id: r.subscriptionNodeId }),
  },
  {
    name: "endpoint as of now (time travel)",
    writes: false,
    document: `query($webhookId: String!, $asOf: String) { webhookEndpoint(webhookId: $webhookId, asOf: $asOf) { webhookId } }`,
    variables: (r) => ({ webhookId: r.webhookId, asOf: new Date().toISOString() }),
  },
  {
    name: "audit trail of the endpoint",
    writes: false,
    document: `query($webhookId: String) { auditTrail(webhookId: $webhookId) { type } }`,
    variables: (r) => ({ webhookId: r.webhookId }),
  },
  {
    name: "audit trail of the subscription",
    writes: false,
    document: `query($subscriptionId: String) { auditTrail(subscriptionId: $subscriptionId) { type } }`,
    variables: (r) => ({ subscriptionId: r.subscriptionId }),
  },
  {
    name: "audit trail of the delivery",
    writes: false,
    document: `query($deliveryId: String) { auditTrail(deliveryId: $deliveryId) { type } }`,
    variables: (r) => ({ deliveryId: r.deliveryId }),
  },
  {
    name: "read delivery",
    writes: false,
    document: `query($deliveryId: String!) { delivery(deliveryId: $deliveryId) { deliveryId } }`,
    variables: (r) => ({ deliveryId: r.deliveryId }),
  },
  {
    name: "list the endpoint's deliveries",
    writes: false,
    document: `query($webhookId: String!) { deliveries(webhookId: $webhookId) { total } }`,
    variables: (r) => ({ webhookId: r.webhookId }),
  },
  {
    name: "create subscription on the endpoint",
    writes: true,
    document: CREATE_SUBSCRIPTION,
    variables: (r) => ({ webhookId: r.webhookId }),
    created: (data) => `subscription-${String(data.createWebhookSubscription.webhookSubscription.subscriptionId)}`,
  },
  {
    name: "delete subscription",
    writes: true,
    document: `mutation($webhookId: String!, $subscriptionId: String!) { deleteWebhookSubscription(input: { webhookId: $webhookId, subscriptionId: $subscriptionId }) { success } }`,
    variables: (r) => ({ webhookId: r.webhookId, subscriptionId: r.subscriptionId }),
  },
];

/** Every credential that is not a valid sign-in gets UNAUTHENTICATED, whatever the operation. */
const UNSIGNED = {
  anonymous: "UNAUTHENTICATED",
  "expired token": "UNAUTHENTICATED",
  "malformed token": "UNAUTHENTICATED",
  "tenant key": "UNAUTHENTICATED",
} as const;

/**
 * The documented answers. Others' ids answer NOT_FOUND (existence does not leak) except where the
 * caller names the owner itself (FORBIDDEN); admins change everything; auditors see everything and
 * change nothing; only the owner opens secrets.
 */
const EXPECTED: Record<string, Record<GraphqlRole, GraphqlOutcome>> = {
  "read endpoint": { ...UNSIGNED, owner: "ok", "other subscriber": "NOT_FOUND", admin: "ok", auditor: "ok" },
  "open endpoint secrets": {
    ...UNSIGNED,
    owner: "secrets open",
    "other subscriber": "NOT_FOUND",
    admin: "secrets sealed",
    auditor: "secrets sealed",
  },
  "list endpoints": {
    ...UNSIGNED,
    owner: "listed",
    "other subscriber": "not listed",
    admin: "listed",
    auditor: "listed",
  },
  "list the owner's endpoints": {
    ...UNSIGNED,
    owner: "listed",
    "other subscriber": "FORBIDDEN",
    admin: "listed",
    auditor: "listed",
  },
  "node(endpoint)": { ...UNSIGNED, owner: "ok", "other subscriber": "NOT_FOUND", admin: "ok", auditor: "ok" },
  "update endpoint": { ...UNSIGNED, owner: "ok", "other subscriber": "NOT_FOUND", admin: "ok", auditor: "FORBIDDEN" },
  "rotate api key": { ...UNSIGNED, owner: "ok", "other subscriber": "NOT_FOUND", admin: "ok", auditor: "FORBIDDEN" },
  "pause endpoint": { ...UNSIGNED, owner: "ok", "other subscriber": "NOT_FOUND", admin: "ok", auditor: "FORBIDDEN" },
  "resume endpoint": { ...UNSIGNED, owner: "ok", "other subscriber": "NOT_FOUND", admin: "ok", auditor: "FORBIDDEN" },
  "delete endpoint": { ...UNSIGNED, owner: "ok", "other subscriber": "NOT_FOUND", admin: "ok", auditor: "FORBIDDEN" },
  "read subscription": { ...UNSIGNED, owner: "ok", "other subscriber": "NOT_FOUND", admin: "ok", auditor: "ok" },
  "list subscriptions": { ...UNSIGNED, owner: "ok", "other subscriber": "NOT_FOUND", admin: "ok", auditor: "ok" },
  "node(subscription)": { ...UNSIGNED, owner: "ok", "other subscriber": "NOT_FOUND", admin: "ok", auditor: "ok" },
  "endpoint as of now (time travel)": {
    ...UNSIGNED,
    owner: "ok",
    "other subscriber": "NOT_FOUND",
    admin: "ok",
    auditor: "ok",
  },
  "audit trail of the endpoint": {
    ...UNSIGNED,
    owner: "ok",
    "other subscriber": "NOT_FOUND",
    admin: "ok",
    auditor: "ok",
  },
  "audit trail of the subscription": {
    ...UNSIGNED,
    owner: "ok",
    "other subscriber": "NOT_FOUND",
    admin: "ok",
    auditor: "ok",
  },
  "audit trail of the delivery": {
    ...UNSIGNED,
    owner: "ok",
    "other subscriber": "NOT_FOUND",
    admin: "ok",
    auditor: "ok",
  },
  "read delivery": { ...UNSIGNED, owner: "ok", "other subscriber": "NOT_FOUND", admin: "ok", auditor: "ok" },
  "list the endpoint's deliveries": {
    ...UNSIGNED,
    owner: "ok",
    "other subscriber": "NOT_FOUND",
    admin: "ok",
    auditor: "ok",
  },
  "create subscription on the endpoint": {
    ...UNSIGNED,
    owner: "ok",
    "other subscriber": "NOT_FOUND",
    admin: "ok",
    auditor: "FORBIDDEN",
  },
  "delete subscription": {
    ...UNSIGNED,
    owner: "ok",
    "other subscriber": "NOT_FOUND",
    admin: "ok",
    auditor: "FORBIDDEN",
  },
};

/** Creating an endpoint is the one operation that needs no resource. */
const CREATE_EXPECTED: Record<GraphqlRole, GraphqlOutcome> = {
  ...UNSIGNED,
  owner: "ok",
  "other subscriber": "ok",
  admin: "ok",
  auditor: "FORBIDDEN",
};

const GRAPHQL_ROLES = Object.keys(CREATE_EXPECTED) as GraphqlRole[];

describe("authorization matrix over real HTTP", () => {
  let running: TestHerald;
  const tokens = new Map<GraphqlRole, string | undefined>();

  beforeAll(async () => {
    running = await startTestHerald({
      nats: false,
      env: {
        HERALD_SIWE_DOMAIN: TEST_SIWE_DOMAIN,
        HERALD_ADMIN_ADDRESSES: admin.address,
        HERALD_AUDITOR_ADDRESSES: auditor.address,
        HERALD_TENANT_JWT_SECRET: TENANT_SECRET,
        HERALD_TENANT_ADMIN_API_KEY: TENANT_ADMIN_API_KEY,
        HERALD_SSE_TIMEOUT_S: "2",
      },
    });
    const sign = (account: PrivateKeyAccount) => signedToken(account, TEST_SIWE_DOMAIN);
    tokens.set("anonymous", undefined);
    tokens.set("owner", await sign(owner));
    tokens.set("other subscriber", await sign(stranger));
    tokens.set("admin", await sign(admin));
    tokens.set("auditor", await sign(auditor));
    tokens.set(
      "expired token",
      await signedToken(owner, TEST_SIWE_DOMAIN, {
        issuedAt: new Date(Date.now() - 2 * HOUR),
        expirationTime: new Date(Date.now() - HOUR),
      }),
    );
    tokens.set("malformed token", "not-a-siwe-token");
    tokens.set("tenant key", createTenantToken(TENANT_SECRET, { kind: "tenant", walletId: owner.address }));
  });
  afterAll(async () => {
    await running?.cleanup();
  });

  const gql = (document: string, variables: object, role: GraphqlRole) =>
    postGraphql(running.url, document, variables, tokens.get(role));

  function outcome(
    response: GraphqlResponse,
    read: (data: Record<string, any>) => GraphqlOutcome = () => "ok",
  ): GraphqlOutcome | string {
    const code = response.errors?.[0]?.extensions?.code;
    if (code !== undefined) return code;
    return response.data ? read(response.data) : `no data (status ${response.status})`;
  }

  /** A fresh endpoint and subscription of the owner's for each cell, so a delete in one cell never changes another. */
  async function ownersResources(): Promise<Resources> {
    const endpoint = await gql(
      `mutation { createWebhookEndpoint(input: { url: "https://example.com/hook" }) { webhookEndpoint { id webhookId } } }`,
      {},
      "owner",
    );
    const { id: endpointNodeId, webhookId } = endpoint.data!.createWebhookEndpoint.webhookEndpoint as {
      id: string;
      webhookId: string;
    };
    const subscription = await gql(CREATE_SUBSCRIPTION, { webhookId }, "owner");
    const { id: subscriptionNodeId, subscriptionId } = subscription.data!.createWebhookSubscription
      .webhookSubscription as { id: string; subscriptionId: string };
    return { webhookId, subscriptionId, endpointNodeId, subscriptionNodeId };
  }

  async function eventsOf(resources: Resources): Promise<number> {
    const streams = [`endpoint-${resources.webhookId}`, `subscription-${resources.subscriptionId}`];
    // Only what callers caused: herald's own reactions (endpoint health after a delivery) may land any time.
    const counts = await Promise.all(
      streams.map(
        async (stream) =>
          (await running.herald.store.readStream(stream)).filter((event) => !event.metadata.actor.startsWith("system:"))
            .length,
      ),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }

  const cells = OPERATIONS.flatMap((operation) =>
    GRAPHQL_ROLES.map((role) => [operation.name, role, EXPECTED[operation.name]![role]] as const),
  );
  /** Shared by the cells that cannot change it: reads, and writes that are refused for want of a sign-in. */
  let shared: Promise<Resources> | undefined;

  /** The owner's resources plus one delivery: a transaction the subscription matches, ingested over HTTP. */
  function sharedResourcesOnce(): Promise<Resources> {
    shared ??= sharedResources();
    return shared;
  }

  async function sharedResources(): Promise<Resources> {
    const resources = await ownersResources();
    const transaction = {
      status: "SUCCESS",
      signature: `0x${randomUUID().replaceAll("-", "")}`,
      events: [{ type: "asset-link", action: "create", args: [], collectionId: SEED_COLLECTION }],
    };
    const ingested = await fetch(`${running.url}/v1/transactions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_INGEST_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(transaction),
    });
    expect(ingested.status).toBe(202);
    const id = deliveryId(resources.webhookId, ((await ingested.json()) as { transactionId: string }).transactionId);
    // Until the delivery-history read model has it.
    await vi.waitFor(
      async () => {
        const seen = await gql(`query($id: String!) { delivery(deliveryId: $id) { deliveryId } }`, { id }, "owner");
        expect(seen.data?.delivery).toBeTruthy();
      },
      { timeout: 10_000, interval: 50 },
    );
    return { ...resources, deliveryId: id };
  }

  it.each(cells)("GraphQL %s as %s: %s", async (operationName, role, expected) => {
    const operation = OPERATIONS.find((op) => op.name === operationName)!;
    const fresh = operation.writes && expected !== "UNAUTHENTICATED";
    const resources = await (fresh ? ownersResources() : sharedResourcesOnce());
    if (fresh && operation.setup)
      expect((await gql(operation.setup, operation.variables(resources), "owner")).errors).toBeUndefined();
    const before = await eventsOf(resources);
    const response = await gql(operation.document, operation.variables(resources), role);
    expect(response.status, JSON.stringify(response)).toBeLessThan(500);
    expect(
      outcome(response, (data) => operation.success?.(data, resources) ?? "ok"),
      JSON.stringify(response.errors),
    ).toBe(expected);
    // A refused operation writes nothing; an accepted write writes.
    let written = (await eventsOf(resources)) - before;
    if (response.data && operation.created)
      written += (await running.herald.store.readStream(operation.created(response.data))).length;
    if (operation.writes && expected === "ok") expect(written).toBeGreaterThan(0);
    else expect(written).toBe(0);
  });

  it.each(GRAPHQL_ROLES.map((role) => [role, CREATE_EXPECTED[role]] as const))(
    "GraphQL create endpoint as %s: %s",
    async (role, expected) => {
      const response = await gql(
        `mutation { createWebhookEndpoint(input: { url: "https://example.com/created" }) { webhookEndpoint { webhookId subscriber } } }`,
        {},
        role,
      );
      expect(outcome(response)).toBe(expected);
      // The new endpoint belongs to whoever created it, admins included.
      const creators: Partial<Record<GraphqlRole, string>> = {
        owner: owner.address,
        "other subscriber": stranger.address,
        admin: admin.address,
      };
      if (expected === "ok")
        expect(response.data!.createWebhookEndpoint.webhookEndpoint.subscriber).toBe(creators[role]);
    },
  );

  // -------------------------------------------------------------------------------------------
  // Tenant keys × SSE
  // -------------------------------------------------------------------------------------------

  describe("tenant keys on the SSE route", () => {
    const GROUP = "acme";
    const template = fixtureTenantEvents()[0]!;
    /** The resource: a wallet of group acme with an event already in the look-back window. */
    const event: TenantEvent = {
      ...template,
      wallet_id: randomUUID(),
      group_id: GROUP,
      payload: { ...template.payload, connection_id: randomUUID(), state: "completed" },
    };
    const key = (
      scope: Parameters<typeof createTenantToken>[1],
      options: Parameters<typeof createTenantToken>[2] = { ttlS: 600 },
    ) => createTenantToken(TENANT_SECRET, scope, options);

    const KEYS: Record<string, () => Promise<string | undefined> | string | undefined> = {
      "tenant of the wallet": () => key({ kind: "tenant", walletId: event.wallet_id }),
      "tenant of the wallet, naming its group": () =>
        key({ kind: "tenant", walletId: event.wallet_id, groupId: GROUP }),
      "tenant of another wallet": () => key({ kind: "tenant", walletId: randomUUID() }),
      "tenant-admin of the group": () => key({ kind: "tenant-admin", groupId: GROUP }),
      "tenant-admin of another group": () => key({ kind: "tenant-admin", groupId: "globex" }),
      "static tenant-admin key": () => `tenant-admin.${TENANT_ADMIN_API_KEY}`,
      "static tenant-admin key, wrong": () => `tenant-admin.${TENANT_ADMIN_API_KEY}x`,
      "static key as a tenant key": () => `tenant.${TENANT_ADMIN_API_KEY}`,
      "governance key": () => `governance.${TENANT_ADMIN_API_KEY}`,
      "key without a role prefix": () => TENANT_ADMIN_API_KEY,
      "key with an unknown role": () => `admin.${TENANT_ADMIN_API_KEY}`,
      "expired tenant key": () => key({ kind: "tenant", walletId: event.wallet_id }, { ttlS: 1, nowS: 1_000 }),
      "expired tenant-admin key": () => key({ kind: "tenant-admin", groupId: GROUP }, { ttlS: 1, nowS: 1_000 }),
      "malformed key": () => "tenant.not.a.jwt",
      "key signed with another secret": () =>
        createTenantToken("another-secret", { kind: "tenant", walletId: event.wallet_id }),
      "alg none key": () => {
        const [kind, , body] = key({ kind: "tenant", walletId: event.wallet_id }).split(".");
        return `${kind}.${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${body}.`;
      },
      "SIWE token of the owner": () => signedToken(owner, TEST_SIWE_DOMAIN),
      "no key": () => undefined,
    };

    type SseOutcome = "match" | "204" | `401 ${string}` | `403 ${string}`;
    const refused = (reason: string): SseOutcome => `403 ${reason}`;
    /** acapy-cloud answers 401 to a key with no role prefix or an unknown one. */
    const noRole: SseOutcome = "401 TENANT_KEY_REFUSED/unknown-role";
    /** Per key: waiting on the wallet (under each documented prefix the key decides, not the prefix), and the EventSource reconnect. */
    const SSE_EXPECTED: Record<string, { wait: SseOutcome; reconnect: SseOutcome }> = {
      "tenant of the wallet": { wait: "match", reconnect: "204" },
      "tenant of the wallet, naming its group": { wait: "match", reconnect: "204" },
      "tenant of another wallet": { wait: refused("FORBIDDEN_WALLET"), reconnect: refused("FORBIDDEN_WALLET") },
      "tenant-admin of the group": { wait: "match", reconnect: "204" },
      "tenant-admin of another group": { wait: refused("FORBIDDEN_WALLET"), reconnect: refused("FORBIDDEN_WALLET") },
      "static tenant-admin key": { wait: "match", reconnect: "204" },
      "static tenant-admin key, wrong": {
        wait: refused("TENANT_KEY_REFUSED/malformed"),
        reconnect: refused("TENANT_KEY_REFUSED/malformed"),
      },
      "static key as a tenant key": {
        wait: refused("TENANT_KEY_REFUSED/malformed"),
        reconnect: refused("TENANT_KEY_REFUSED/malformed"),
      },
      "governance key": {
        wait: refused("TENANT_KEY_REFUSED/malformed"),
        reconnect: refused("TENANT_KEY_REFUSED/malformed"),
      },
      "key without a role prefix": { wait: noRole, reconnect: noRole },
      "key with an unknown role": { wait: noRole, reconnect: noRole },
      "expired tenant key": {
        wait: refused("TENANT_KEY_REFUSED/expired"),
        reconnect: refused("TENANT_KEY_REFUSED/expired"),
      },
      "expired tenant-admin key": {
        wait: refused("TENANT_KEY_REFUSED/expired"),
        reconnect: refused("TENANT_KEY_REFUSED/expired"),
      },
      "malformed key": {
        wait: refused("TENANT_KEY_REFUSED/malformed"),
        reconnect: refused("TENANT_KEY_REFUSED/malformed"),
      },
      "key signed with another secret": {
        wait: refused("TENANT_KEY_REFUSED/bad-signature"),
        reconnect: refused("TENANT_KEY_REFUSED/bad-signature"),
      },
      "alg none key": {
        wait: refused("TENANT_KEY_REFUSED/malformed"),
        reconnect: refused("TENANT_KEY_REFUSED/malformed"),
      },
      "SIWE token of the owner": { wait: noRole, reconnect: noRole },
      "no key": { wait: refused("TENANT_KEY_REFUSED/missing"), reconnect: refused("TENANT_KEY_REFUSED/missing") },
    };

    beforeAll(async () => {
      const before = running.herald.waypoint.windowSize;
      const response = await fetch(`${running.url}/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_INGEST_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(event),
      });
      expect(response.status).toBe(202);
      // In a hook, where expect.poll may not run.
      await vi.waitFor(() => expect(running.herald.waypoint.windowSize).toBeGreaterThan(before), {
        timeout: 10_000,
        interval: 20,
      });
    });

    async function sseOutcome(
      url: string,
      apiKey: string | undefined,
      headers: Record<string, string> = {},
    ): Promise<SseOutcome | string> {
      const response = await fetch(url, {
        headers: { ...(apiKey === undefined ? {} : { "x-api-key": apiKey }), ...headers },
      });
      const body = await response.text();
      if (response.status === 204) return "204";
      if (response.status === 200) {
        const data = /^data: (.*)$/m.exec(body)?.[1];
        return data !== undefined && isDeepStrictEqual(JSON.parse(data), event)
          ? "match"
          : `200 without the event: ${body}`;
      }
      const { code, reason, detail } = JSON.parse(body) as { code: string; reason?: string; detail?: unknown };
      // FastAPI's body, as acapy-cloud answers.
      if (typeof detail !== "string") return `${response.status} without a detail: ${body}`;
      return `${response.status} ${code}${reason === undefined ? "" : `/${reason}`}`;
    }

    const path = `/v1/sse/${event.wallet_id}/${event.topic}/connection_id/${String(event.payload.connection_id)}/completed`;
    const sseCells = Object.keys(SSE_EXPECTED).flatMap((name) =>
      ["", "/tenant", "/tenant-admin"].map(
        (prefix) => [name, `${prefix}/v1/sse/…`, prefix, SSE_EXPECTED[name]!.wait] as const,
      ),
    );

    it.each(sseCells)("SSE wait as %s on %s: %s", async (name, _shown, prefix, expected) => {
      expect(await sseOutcome(`${running.url}${prefix}${path}`, await KEYS[name]!())).toBe(expected);
    });

    it.each(Object.keys(SSE_EXPECTED).map((name) => [name, SSE_EXPECTED[name]!.reconnect] as const))(
      "SSE reconnect with Last-Event-ID as %s: %s",
      async (name, expected) => {
        expect(await sseOutcome(`${running.url}${path}`, await KEYS[name]!(), { "last-event-id": "1-1" })).toBe(
          expected,
        );
      },
    );
  });
});
