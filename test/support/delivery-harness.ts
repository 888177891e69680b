import type { PrivateKeyAccount } from "viem/accounts";
import { afterAll, beforeAll } from "vitest";
import { deliveryApi } from "./delivery-api.js";
import { type GraphqlCall, graphqlClient } from "./graphql-client.js";
import { newAccount, TEST_SIWE_DOMAIN } from "./siwe.js";
import { startTestHerald, type TestHerald, type TestHeraldOptions } from "./test-herald.js";
import { startWebhookReceiver, type WebhookReceiver } from "./webhook-receiver.js";

export interface DeliveryHarness {
  readonly herald: TestHerald;
  readonly receiver: WebhookReceiver;
  /** GraphQL on herald, signed in (SIWE, TEST_SIWE_DOMAIN) as whichever account a call names. */
  readonly gql: GraphqlCall;
  /** The account `api` acts as. */
  readonly owner: PrivateKeyAccount;
  readonly api: ReturnType<typeof deliveryApi>;
}

/**
 * For the tests of the calling file or describe block, what the delivery e2e tests share: a webhook
 * receiver, herald on a database of its own (SIWE domain TEST_SIWE_DOMAIN; no NATS unless
 * `nats: true`; `env` added), GraphQL and the delivery API as a fresh owner. Started before them,
 * stopped and removed after them; read its fields inside tests and hooks.
 */
export function useDeliveryHarness(options: TestHeraldOptions = {}): DeliveryHarness {
  const owner = newAccount();
  let started: Omit<DeliveryHarness, "owner"> | undefined;
  let receiver: WebhookReceiver | undefined;
  let herald: TestHerald | undefined;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    herald = await startTestHerald({
      nats: options.nats ?? false,
      env: { HERALD_SIWE_DOMAIN: TEST_SIWE_DOMAIN, ...options.env },
    });
    const gql = graphqlClient(herald.url, TEST_SIWE_DOMAIN);
    started = { herald, receiver, gql, api: deliveryApi(herald.url, gql, owner) };
  });
  afterAll(async () => {
    await herald?.cleanup();
    await receiver?.close();
  });
  const get = (): Omit<DeliveryHarness, "owner"> => {
    if (!started) throw new Error("useDeliveryHarness: read it inside a test or hook");
    return started;
  };
  return {
    owner,
    get herald() {
      return get().herald;
    },
    get receiver() {
      return get().receiver;
    },
    get gql() {
      return get().gql;
    },
    get api() {
      return get().api;
    },
  };
}
