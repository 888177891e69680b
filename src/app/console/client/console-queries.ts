/** The GraphQL operations the console sends: all of them public API, the same for any client. */

const PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }";

export const ENDPOINTS = `query Endpoints($first: Float, $after: String, $last: Float, $before: String, $subscriber: String) {
  webhookEndpoints(first: $first, after: $after, last: $last, before: $before, subscriber: $subscriber) {
    total ${PAGE_INFO}
    edges { node { webhookId subscriber url status disabledReason failingSince rateLimit retries createdAt } }
  }
}`;

/**
 * Endpoints whose figures one request asks for: each takes six aliases, and the API allows 50 a request
 * (src/app/graphql/query-limits.ts).
 */
export const FIGURES_PER_REQUEST = 8;

/**
 * One request for up to FIGURES_PER_REQUEST endpoints' figures, by alias: subscriptions, last 24 hours
 * by outcome (totals only: `first: 0`), and the newest delivery.
 */
export function endpointFiguresQuery(count: number): string {
  const variables = Array.from({ length: count }, (_, index) => `$w${index}: String!`).join(", ");
  const fields = Array.from(
    { length: count },
    (_, i) => `
  s${i}: webhookSubscriptions(webhookId: $w${i}, first: 0) { total }
  ok${i}: deliveries(webhookId: $w${i}, status: SUCCEEDED, since: $since, first: 0) { total }
  pending${i}: deliveries(webhookId: $w${i}, status: PENDING, since: $since, first: 0) { total }
  paused${i}: deliveries(webhookId: $w${i}, status: PAUSED, since: $since, first: 0) { total }
  failed${i}: deliveries(webhookId: $w${i}, status: FAILED, since: $since, first: 0) { total }
  last${i}: deliveries(webhookId: $w${i}, last: 1) { edges { node { deliveryId scheduledAt status } } }`,
  ).join("");
  return `query EndpointFigures($since: String!, ${variables}) {${fields}\n}`;
}

export const ENDPOINT = `query Endpoint($webhookId: String!) {
  webhookEndpoint(webhookId: $webhookId) { webhookId subscriber url status disabledReason failingSince rateLimit retries createdAt }
  webhookSubscriptions(webhookId: $webhookId, first: 100) { total edges { node { subscriptionId type actions collectionId createdAt } } }
}`;

export const ENDPOINT_AS_OF = `query EndpointAsOf($webhookId: String!, $asOf: String) {
  webhookEndpoint(webhookId: $webhookId, asOf: $asOf) { webhookId subscriber url status disabledReason failingSince rateLimit retries createdAt }
}`;

export const DELIVERY_LOG = `query DeliveryLog($webhookId: String!, $status: DeliveryStatus, $since: String, $until: String, $last: Float, $before: String) {
  deliveries(webhookId: $webhookId, status: $status, since: $since, until: $until, last: $last, before: $before) {
    total ${PAGE_INFO}
    edges { node { deliveryId transactionId scheduledAt status finishedAt failureReason attempts { number statusCode errorClass } } }
  }
}`;

export const CHART_DELIVERIES = `query ChartDeliveries($webhookId: String!, $since: String, $before: String) {
  deliveries(webhookId: $webhookId, since: $since, last: 100, before: $before) {
    total ${PAGE_INFO}
    edges { node { scheduledAt status attempts { startedAt durationMs } } }
  }
}`;

export const DELIVERY = `query Delivery($deliveryId: String!) {
  delivery(deliveryId: $deliveryId) {
    deliveryId webhookId transactionId transaction scheduledAt status nextAttemptAt finishedAt failureReason
    attempts { number startedAt durationMs url statusCode errorClass retryAfter responseBody nextAttemptAt }
  }
}`;

export const REDELIVER = `mutation Redeliver($deliveryId: String!) { redeliver(deliveryId: $deliveryId) { redelivered delivery { deliveryId status } } }`;

export const FAILED_COUNT = `query FailedCount($webhookId: String!, $since: String, $until: String) {
  deliveries(webhookId: $webhookId, status: FAILED, since: $since, until: $until, first: 0) { total }
}`;

export const RECOVER = `mutation Recover($webhookId: String!, $since: String, $until: String, $idempotencyKey: String) {
  recoverDeliveries(webhookId: $webhookId, since: $since, until: $until, idempotencyKey: $idempotencyKey) { deliveryIds }
}`;

export const AUDIT_TRAIL = `query AuditTrail($webhookId: String!) {
  auditTrail(webhookId: $webhookId) { type stream revision position at actor correlationId causationId data }
}`;

export interface PageInfo {
  readonly hasNextPage: boolean;
  readonly hasPreviousPage: boolean;
  readonly startCursor: string | null;
  readonly endCursor: string | null;
}

export interface Endpoint {
  readonly webhookId: string;
  readonly subscriber: string;
  readonly url: string;
  readonly status: "ACTIVE" | "FAILING" | "PAUSED" | "DISABLED";
  readonly disabledReason: string | null;
  readonly failingSince: number | null;
  readonly rateLimit: number | null;
  readonly retries: number;
  readonly createdAt: number;
}

export interface Attempt {
  readonly number: number;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly url: string;
  readonly statusCode: number | null;
  readonly errorClass: string | null;
  readonly retryAfter: string | null;
  readonly responseBody: string | null;
  readonly nextAttemptAt: number | null;
}

export interface Delivery {
  readonly deliveryId: string;
  readonly webhookId: string;
  readonly transactionId: string;
  readonly transaction: Record<string, unknown>;
  readonly scheduledAt: number;
  readonly status: "PENDING" | "PAUSED" | "SUCCEEDED" | "FAILED";
  readonly nextAttemptAt: number | null;
  readonly finishedAt: number | null;
  readonly failureReason: string | null;
  readonly attempts: readonly Attempt[];
}
