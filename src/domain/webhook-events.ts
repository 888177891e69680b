/**
 * Events of the two aggregates subscribers manage over GraphQL: webhook endpoints
 * (stream `endpoint-<webhookId>`) and subscriptions (stream `subscription-<subscriptionId>`).
 * Secrets (API key, signing secret) are sealed (AES-256-GCM, src/adapters/crypto/secret-box.ts)
 * before they enter an event: the log is immutable and exported to auditors.
 */

export const endpointStream = (webhookId: string): string => `endpoint-${webhookId}`;
export const subscriptionStream = (subscriptionId: string): string => `subscription-${subscriptionId}`;

export interface WebhookEndpointCreated {
  readonly type: "WebhookEndpointCreated";
  readonly data: {
    readonly webhookId: string;
    /** EIP-55 checksummed address of the owner. */
    readonly subscriber: string;
    readonly url: string;
    /** 0 to 20: attempts are at most retries + 1. */
    readonly retries: number;
    /** Attempts per second at most; absent: no limit. */
    readonly rateLimit?: number;
    readonly apiKey: Sealed;
    /** Standard Webhooks secret, `whsec_…`, sealed. */
    readonly signingSecret: Sealed;
    /** Milliseconds since the epoch. */
    readonly createdAt: number;
  };
}

export interface WebhookEndpointUpdated {
  readonly type: "WebhookEndpointUpdated";
  /** A field is present when it changed; `rateLimit: null` removed the limit. */
  readonly data: {
    readonly webhookId: string;
    readonly url?: string;
    readonly retries?: number;
    readonly rateLimit?: number | null;
  };
}

export interface WebhookEndpointApiKeyRotated {
  readonly type: "WebhookEndpointApiKeyRotated";
  readonly data: { readonly webhookId: string; readonly apiKey: Sealed; readonly signingSecret: Sealed };
}

export interface WebhookEndpointPaused {
  readonly type: "WebhookEndpointPaused";
  readonly data: { readonly webhookId: string };
}

export interface WebhookEndpointResumed {
  readonly type: "WebhookEndpointResumed";
  /** `at` (ms since the epoch) is absent from events written before endpoint health existed. */
  readonly data: { readonly webhookId: string; readonly at?: number };
}

export interface WebhookEndpointDeleted {
  readonly type: "WebhookEndpointDeleted";
  readonly data: { readonly webhookId: string };
}

/** Deliveries to the endpoint have been failing since `since` (ms since the epoch), without a success. */
export interface WebhookEndpointFailing {
  readonly type: "WebhookEndpointFailing";
  readonly data: { readonly webhookId: string; readonly since: number };
}

/** A delivery succeeded again after the endpoint was failing. */
export interface WebhookEndpointRecovered {
  readonly type: "WebhookEndpointRecovered";
  readonly data: { readonly webhookId: string; readonly at: number };
}

/**
 * Why herald stopped delivering to an endpoint by itself: it answered 410 Gone, or it kept failing
 * for HERALD_ENDPOINT_DISABLE_AFTER_S. Resuming the endpoint enables it again.
 */
export type EndpointDisabledReason = "gone" | "failing_too_long";

export interface WebhookEndpointDisabled {
  readonly type: "WebhookEndpointDisabled";
  readonly data: { readonly webhookId: string; readonly reason: EndpointDisabledReason; readonly at: number };
}

export type WebhookEndpointEvent =
  | WebhookEndpointCreated
  | WebhookEndpointUpdated
  | WebhookEndpointApiKeyRotated
  | WebhookEndpointPaused
  | WebhookEndpointResumed
  | WebhookEndpointDeleted
  | WebhookEndpointFailing
  | WebhookEndpointRecovered
  | WebhookEndpointDisabled;

export interface WebhookSubscriptionCreated {
  readonly type: "WebhookSubscriptionCreated";
  readonly data: {
    readonly subscriptionId: string;
    readonly webhookId: string;
    readonly subscriber: string;
    readonly type: string;
    /** Non-empty, unique. */
    readonly actions: readonly string[];
    /** Normalised: see collection-id.ts. */
    readonly collectionId: string;
    readonly createdAt: number;
  };
}

export interface WebhookSubscriptionDeleted {
  readonly type: "WebhookSubscriptionDeleted";
  readonly data: { readonly subscriptionId: string; readonly webhookId: string };
}

export type WebhookSubscriptionEvent = WebhookSubscriptionCreated | WebhookSubscriptionDeleted;

/** A secret sealed by the SecretBox: `v1.<iv>.<ciphertext>.<tag>`. */
export type Sealed = string;

export const WEBHOOK_ENDPOINT_EVENT_TYPES = [
  "WebhookEndpointCreated",
  "WebhookEndpointUpdated",
  "WebhookEndpointApiKeyRotated",
  "WebhookEndpointPaused",
  "WebhookEndpointResumed",
  "WebhookEndpointDeleted",
  "WebhookEndpointFailing",
  "WebhookEndpointRecovered",
  "WebhookEndpointDisabled",
] as const satisfies readonly WebhookEndpointEvent["type"][];

export const WEBHOOK_SUBSCRIPTION_EVENT_TYPES = [
  "WebhookSubscriptionCreated",
  "WebhookSubscriptionDeleted",
] as const satisfies readonly WebhookSubscriptionEvent["type"][];

/**
 * The stream that moves on with every change of which endpoints a transaction can match. Ingest
 * schedules deliveries against the subscriptions it knows and fences its append on this stream's
 * revision, so a decision never misses a change that committed before it (see AppendFence).
 */
export const SUBSCRIPTION_SET_STREAM = "fence-subscriptions";

/** Written with the change it marks, in the same append, after it. */
export interface SubscriptionSetChanged {
  readonly type: "SubscriptionSetChanged";
  readonly data: {
    readonly cause: "WebhookSubscriptionCreated" | "WebhookSubscriptionDeleted" | "WebhookEndpointDeleted";
    readonly webhookId: string;
    readonly subscriptionId?: string;
  };
}

/** The marker a change of the subscription set needs; undefined for events that change no match. */
export function subscriptionSetChange(
  event: WebhookEndpointEvent | WebhookSubscriptionEvent,
): SubscriptionSetChanged | undefined {
  switch (event.type) {
    case "WebhookSubscriptionCreated":
    case "WebhookSubscriptionDeleted": {
      const { webhookId, subscriptionId } = event.data;
      return { type: "SubscriptionSetChanged", data: { cause: event.type, webhookId, subscriptionId } };
    }
    case "WebhookEndpointDeleted":
      return { type: "SubscriptionSetChanged", data: { cause: event.type, webhookId: event.data.webhookId } };
    default:
      return undefined;
  }
}
