import type { PrivateKeyAccount } from "viem/accounts";
import { expect, vi } from "vitest";
import type { Transaction } from "../../src/domain/ingest-events.js";
import { SEED_COLLECTION } from "./fixtures.js";
import type { GraphqlCall } from "./graphql-client.js";
import { ingestOverHttp } from "./test-herald.js";

const ATTEMPT_FIELDS = "number startedAt durationMs url statusCode errorClass retryAfter responseBody nextAttemptAt";
const DELIVERY_FIELDS = `deliveryId webhookId transactionId transaction scheduledAt status nextAttemptAt finishedAt failureReason attempts { ${ATTEMPT_FIELDS} }`;
/** A delivery with everything its history shows. */
export const DELIVERY = `query($deliveryId: String!) { delivery(deliveryId: $deliveryId) { ${DELIVERY_FIELDS} } }`;
const ENDPOINT = `query($webhookId: String!) { webhookEndpoint(webhookId: $webhookId) { webhookId status disabledReason failingSince } }`;

/**
 * What the delivery e2e tests do over herald's public interfaces: make an endpoint subscribed to the
 * example transaction's events (GraphQL, as `owner`), ingest a transaction (HTTP), and poll GraphQL
 * until a delivery or an endpoint reaches a state.
 */
export function deliveryApi(heraldUrl: string, gql: GraphqlCall, owner: PrivateKeyAccount) {
  async function ok(query: string, variables: object, account = owner): Promise<Record<string, any>> {
    const response = await gql(query, variables, account);
    expect(response.errors, query).toBeUndefined();
    return response.data!;
  }

  function until<T>(
    what: string,
    read: () => Promise<T | undefined>,
    done: (value: T) => boolean,
    timeout: number,
  ): Promise<T> {
    return vi.waitFor(
      async () => {
        const value = await read();
        if (value === undefined || !done(value)) throw new Error(`${what} is still ${JSON.stringify(value)}`);
        return value;
      },
      { timeout, interval: 100 },
    );
  }

  return {
    ok,

    /** A new endpoint of the owner's at `url`, subscribed to the example transaction's events. */
    async endpointAt(url: string, retries = 3): Promise<string> {
      const created = await ok(
        `mutation($url: String!, $retries: Float) { createWebhookEndpoint(input: { url: $url, retries: $retries }) { webhookEndpoint { webhookId } } }`,
        { url, retries },
      );
      const webhookId = created.createWebhookEndpoint.webhookEndpoint.webhookId as string;
      await ok(
        `mutation($webhookId: String!, $collectionId: CollectionId!) {
          createWebhookSubscription(input: { webhookId: $webhookId, type: "asset-link", actions: ["create", "delete"], collectionId: $collectionId }) { webhookSubscription { subscriptionId } }
        }`,
        { webhookId, collectionId: SEED_COLLECTION },
      );
      return webhookId;
    },

    /** Ingests over HTTP (ingestOverHttp); answers the transaction id. */
    async ingest(transaction: Transaction, key: string): Promise<string> {
      const response = await ingestOverHttp(heraldUrl, transaction, key);
      expect(response.status).toBe(202);
      return ((await response.json()) as { transactionId: string }).transactionId;
    },

    deliveryWhen(deliveryId: string, done: (delivery: Record<string, any>) => boolean, timeoutMs = 15_000) {
      return until(
        `delivery ${deliveryId}`,
        async () => (await gql(DELIVERY, { deliveryId }, owner)).data?.delivery as Record<string, any> | undefined,
        done,
        timeoutMs,
      );
    },

    endpointWhen(webhookId: string, done: (endpoint: Record<string, any>) => boolean, timeoutMs = 15_000) {
      return until(
        `endpoint ${webhookId}`,
        async () =>
          (await gql(ENDPOINT, { webhookId }, owner)).data?.webhookEndpoint as Record<string, any> | undefined,
        done,
        timeoutMs,
      );
    },
  };
}
