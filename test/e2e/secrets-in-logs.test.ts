import { randomUUID } from "node:crypto";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenantToken } from "../../src/adapters/auth/tenant-token.js";
import type { TenantEvent, Transaction } from "../../src/domain/ingest-events.js";
import { fixtureTenantEvents, fixtureTransactions } from "../support/fixtures.js";
import { postGraphql } from "../support/graphql-client.js";
import { NATS_URL } from "../support/services.js";
import { newAccount, signedToken, TEST_SIWE_DOMAIN } from "../support/siwe.js";
import { startTestHerald, TEST_ENCRYPTION_KEY, TEST_INGEST_TOKEN, type TestHerald } from "../support/test-herald.js";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";

const TENANT_SECRET = "logs-tenant-jwt-secret";
const TENANT_ADMIN_API_KEY = "logs-tenant-admin-api-key";

/**
 * Drives every feature at LOG_LEVEL=debug (GraphQL with good and bad sign-ins, key rotation, HTTP and
 * NATS ingest with good and bad tokens, delivery with a retry, SSE with good and bad tenant keys,
 * metrics) and then scans everything herald logged for every secret it saw or handed out.
 */
describe("secrets never reach the log", () => {
  let herald: TestHerald;
  let receiver: WebhookReceiver;
  /** Whole secrets and the parts that are secret on their own (a token's signature, a key's bytes). */
  const secrets = new Map<string, string>();
  const remember = (what: string, value: string) => {
    expect(value.length, what).toBeGreaterThan(8);
    secrets.set(value, what);
  };

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    herald = await startTestHerald({
      env: {
        LOG_LEVEL: "debug",
        HERALD_SIWE_DOMAIN: TEST_SIWE_DOMAIN,
        HERALD_TENANT_JWT_SECRET: TENANT_SECRET,
        HERALD_TENANT_ADMIN_API_KEY: TENANT_ADMIN_API_KEY,
        HERALD_RETRY_BASE_MS: "200",
        HERALD_DELIVERY_TIMEOUT_MS: "2000",
      },
    });
    remember("encryption key", TEST_ENCRYPTION_KEY);
    remember("ingest token", TEST_INGEST_TOKEN);
    remember("tenant JWT secret", TENANT_SECRET);
    remember("tenant-admin API key", TENANT_ADMIN_API_KEY);
  });
  afterAll(async () => {
    await herald?.cleanup();
    await receiver?.close();
  });

  it("drives every feature, then finds none of its secrets in the captured log", { timeout: 60_000 }, async () => {
    // Whatever bypasses the logger (a library's console.error) is recorded, and passed on.
    const bypass: string[] = [];
    const consoles = (["log", "info", "warn", "error", "debug"] as const).map((method) => {
      const original = console[method];
      console[method] = (...args: unknown[]) => {
        bypass.push(
          args.map((arg) => (arg instanceof Error ? `${arg.stack} ${JSON.stringify(arg)}` : String(arg))).join(" "),
        );
        original(...args);
      };
      return () => {
        console[method] = original;
      };
    });
    try {
      await driveEveryFeature();
    } finally {
      for (const restore of consoles) restore();
    }
    const log = herald.logs.join("");
    // The features above did log at debug level, so an empty log cannot pass this test.
    expect(herald.logs.length).toBeGreaterThan(20);
    expect(log).toContain('"level":20');
    const leaked = [...secrets].filter(([value]) => log.includes(value)).map(([, what]) => what);
    expect(leaked, `secrets found in ${herald.logs.length} log lines`).toEqual([]);
    // Nothing bypasses the logger: it is where redaction happens, and the console takes no level.
    expect(bypass).toEqual([]);
  });

  async function driveEveryFeature(): Promise<void> {
    const owner = newAccount();
    const ownerToken = await signedToken(owner, TEST_SIWE_DOMAIN);
    remember("SIWE token", ownerToken);
    remember("SIWE signature", ownerToken.split(".")[1]!);
    const gql = async (query: string, variables: object, token: string | undefined = ownerToken) =>
      postGraphql(herald.url, query, variables, token);

    // GraphQL: create, read secrets, rotate, read again.
    const selection = "webhookId apiKey signingSecret";
    const created = await gql(
      `mutation($url: String!) { createWebhookEndpoint(input: { url: $url, retries: 3 }) { webhookEndpoint { ${selection} } } }`,
      {
        url: `${receiver.url}/hook`,
      },
    );
    const endpoint = created.data!.createWebhookEndpoint.webhookEndpoint as {
      webhookId: string;
      apiKey: string;
      signingSecret: string;
    };
    const rotated = (
      await gql(
        `mutation($webhookId: String!) { rotateWebhookEndpointApiKey(input: { webhookId: $webhookId }) { webhookEndpoint { ${selection} } } }`,
        {
          webhookId: endpoint.webhookId,
        },
      )
    ).data!.rotateWebhookEndpointApiKey.webhookEndpoint as typeof endpoint;
    for (const [name, value] of [
      ["first", endpoint],
      ["rotated", rotated],
    ] as const) {
      remember(`${name} API key`, value.apiKey);
      remember(`${name} signing secret`, value.signingSecret);
      remember(`${name} signing key bytes`, value.signingSecret.slice("whsec_".length));
    }
    const [seed] = fixtureTransactions() as [Transaction];
    const event = seed.events[0]!;
    const subscribed = await gql(
      `mutation($input: CreateWebhookSubscriptionInput!) { createWebhookSubscription(input: $input) { webhookSubscription { subscriptionId } } }`,
      {
        input: {
          webhookId: endpoint.webhookId,
          type: event.type,
          actions: [event.action],
          collectionId: event.collectionId,
        },
      },
    );
    expect(subscribed.errors).toBeUndefined();

    // Refused sign-ins: a tampered token and another domain's.
    const [message] = ownerToken.split(".");
    const tampered = `${message}.0x${"ab".repeat(65)}`;
    remember("tampered SIWE signature", tampered.split(".")[1]!);
    const foreignDomain = await signedToken(owner, "evil.test");
    remember("foreign-domain SIWE signature", foreignDomain.split(".")[1]!);
    for (const token of [tampered, foreignDomain])
      expect((await gql(`{ webhookEndpoints { total } }`, {}, token)).errors![0]!.extensions!.code).toBe(
        "UNAUTHENTICATED",
      );

    // Delivery, through HTTP ingest and NATS: a 500 first (retried), then 200, with the rotated key.
    receiver.script("/hook", [{ status: 500 }, { status: 200 }]);
    const ingest = (path: string, body: unknown, token = TEST_INGEST_TOKEN) =>
      fetch(`${herald.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await ingest("/v1/transactions", seed)).status).toBe(202);
    const wrongIngestToken = `guess-${randomUUID()}`;
    remember("wrong ingest token", wrongIngestToken);
    expect((await ingest("/v1/transactions", seed, wrongIngestToken)).status).toBe(401);
    const nc = await connect({ servers: NATS_URL });
    await jetstream(nc).publish(herald.nats!.txSubject, JSON.stringify({ ...seed, hash: `0x${"1".repeat(64)}` }), {
      msgID: randomUUID(),
    });
    await nc.close();
    const deliveries = await receiver.waitFor(3, "/hook");
    expect(deliveries.every((request) => request.headers["x-api-key"] === rotated.apiKey)).toBe(true);

    // SSE: a tenant key that is answered, and refused ones.
    const template = fixtureTenantEvents()[0]!;
    const tenantEvent: TenantEvent = {
      ...template,
      wallet_id: randomUUID(),
      payload: { ...template.payload, connection_id: randomUUID(), state: "completed" },
    };
    const tenantKey = createTenantToken(
      TENANT_SECRET,
      { kind: "tenant", walletId: tenantEvent.wallet_id },
      { ttlS: 600 },
    );
    const foreignKey = createTenantToken("another-secret", { kind: "tenant", walletId: tenantEvent.wallet_id });
    const adminKey = createTenantToken(TENANT_SECRET, { kind: "tenant-admin", groupId: "other-group" }, { ttlS: 600 });
    for (const [name, key] of [
      ["tenant key", tenantKey],
      ["foreign tenant key", foreignKey],
      ["tenant-admin key", adminKey],
    ] as const) {
      remember(name, key);
      remember(`${name} signature`, key.split(".")[3]!);
    }
    expect((await ingest("/v1/events", tenantEvent)).status).toBe(202);
    const sse = (key: string) =>
      fetch(
        `${herald.url}/v1/sse/${tenantEvent.wallet_id}/${tenantEvent.topic}/connection_id/${String(tenantEvent.payload.connection_id)}/completed`,
        {
          headers: { "x-api-key": key },
        },
      );
    const answered = await sse(tenantKey);
    expect(answered.status).toBe(200);
    expect(await answered.text()).toContain(tenantEvent.wallet_id);
    expect((await sse(foreignKey)).status).toBe(403);
    // The static tenant-admin key, answered and refused (a near miss and a key with no role).
    const admin = await sse(`tenant-admin.${TENANT_ADMIN_API_KEY}`);
    expect(admin.status).toBe(200);
    expect(await admin.text()).toContain(tenantEvent.wallet_id);
    expect((await sse(`tenant-admin.${TENANT_ADMIN_API_KEY}x`)).status).toBe(403);
    expect((await sse(TENANT_ADMIN_API_KEY)).status).toBe(401);
    expect((await fetch(`${herald.url}/metrics`)).status).toBe(200);
  }
});
