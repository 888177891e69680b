import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { SecretBox } from "../adapters/crypto/secret-box.js";
import type { HeraldTables } from "../adapters/db/schema.js";
import { eventMetadata } from "../adapters/eventstore/event-metadata.js";
import type { EventStore, Position } from "../adapters/eventstore/event-store.js";
import { type CommandOutcome, handleCommand } from "../commands/handle-command.js";
import type { Caller } from "../domain/caller.js";
import { isResourceId } from "../domain/plain-text.js";
import type { Quota } from "../domain/quota.js";
import {
  type WebhookEndpoint,
  type WebhookEndpointCommand,
  type WebhookEndpointRules,
  webhookEndpointDecider,
} from "../domain/webhook-endpoint.js";
import {
  endpointStream,
  SUBSCRIPTION_SET_STREAM,
  subscriptionSetChange,
  subscriptionStream,
  type WebhookEndpointEvent,
  type WebhookSubscriptionEvent,
} from "../domain/webhook-events.js";
import {
  type WebhookSubscription,
  type WebhookSubscriptionCommand,
  webhookSubscriptionDecider,
} from "../domain/webhook-subscription.js";
import type { ProjectionMember } from "../projections/projection-group.js";
import { listWebhookEndpoints } from "../projections/webhook-endpoints.js";
import { listWebhookSubscriptions } from "../projections/webhook-subscriptions.js";
import { readWebhookEndpoint } from "./entity-streams.js";
import { awaitReadModels } from "./read-your-writes.js";

/** Distributive Omit, so that each command keeps its own fields. */
type WithoutGenerated<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type EndpointRequest = WithoutGenerated<
  WebhookEndpointCommand,
  "caller" | "apiKey" | "signingSecret" | "now" | "quota"
>;
export type SubscriptionRequest = WithoutGenerated<WebhookSubscriptionCommand, "caller" | "now" | "quota" | "endpoint">;

export interface WebhookCommandsOptions {
  readonly store: EventStore;
  readonly secrets: SecretBox;
  readonly rules: WebhookEndpointRules;
  /** The read models' database, where quotas are counted. */
  readonly db: Kysely<HeraldTables>;
  readonly quotas: { readonly endpointsPerSubscriber: number; readonly subscriptionsPerEndpoint: number };
  /** The read models a command's answer must be visible in before it returns (read-your-writes). */
  readonly endpointReadModels: readonly ProjectionMember[];
  readonly subscriptionReadModels: readonly ProjectionMember[];
  readonly logger: Logger;
  /** The longest a command waits for its read models. */
  readonly readYourWritesMs?: number;
}

/**
 * The write side of webhook management: every command is decide → append with the expected
 * revision → wait until the read models have applied it, so that the caller's next query sees it.
 */
export class WebhookCommands {
  readonly #queues = new Map<string, Promise<void>>();
  readonly #endpointDecider: ReturnType<typeof webhookEndpointDecider>;

  constructor(private readonly options: WebhookCommandsOptions) {
    this.#endpointDecider = webhookEndpointDecider(options.rules);
  }

  async endpoint(caller: Caller, request: EndpointRequest): Promise<CommandOutcome<WebhookEndpoint>> {
    if (!isResourceId(request.webhookId)) return notFound("webhook endpoint");
    if (request.type !== "CreateWebhookEndpoint") return this.#endpoint(this.#endpointCommand(caller, request));
    // The new endpoint is the caller's own, admins' too: their quota applies.
    return this.#oneAtATime(`endpoints of ${caller.address}`, async () => {
      const { total } = await listWebhookEndpoints(this.options.db, caller.address, { first: 0 });
      return this.#endpoint(
        this.#endpointCommand(caller, request, { used: total, limit: this.options.quotas.endpointsPerSubscriber }),
      );
    });
  }

  async #endpoint(command: WebhookEndpointCommand): Promise<CommandOutcome<WebhookEndpoint>> {
    const outcome = await handleCommand(
      this.options.store,
      endpointStream(command.webhookId),
      this.#endpointDecider,
      command,
      { metadata: eventMetadata(command.caller.address), fence: SUBSCRIPTION_SET_FENCE },
    );
    if (!outcome.ok) return outcome;
    const readModels =
      command.type === "DeleteWebhookEndpoint"
        ? [...this.options.endpointReadModels, ...this.options.subscriptionReadModels]
        : this.options.endpointReadModels;
    await this.#visible(outcome.position, readModels);
    // A successful decision always leaves an endpoint behind.
    return { ...outcome, state: outcome.state as WebhookEndpoint };
  }

  async subscription(caller: Caller, request: SubscriptionRequest): Promise<CommandOutcome<WebhookSubscription>> {
    if (!isResourceId(request.webhookId)) return notFound("webhook endpoint");
    if (!isResourceId(request.subscriptionId)) return notFound("webhook subscription");
    if (request.type !== "CreateWebhookSubscription") return this.#subscription({ ...request, caller });
    return this.#oneAtATime(`subscriptions of ${request.webhookId}`, async () => {
      const { total } = await listWebhookSubscriptions(this.options.db, request.webhookId, { first: 0 });
      const quota = { used: total, limit: this.options.quotas.subscriptionsPerEndpoint };
      // Decisions read the endpoint's own stream, never a read model that may lag behind.
      const endpoint = await readWebhookEndpoint(this.options.store, request.webhookId);
      return this.#subscription({ ...request, caller, now: Date.now(), quota, endpoint });
    });
  }

  async #subscription(command: WebhookSubscriptionCommand): Promise<CommandOutcome<WebhookSubscription>> {
    const outcome = await handleCommand(
      this.options.store,
      subscriptionStream(command.subscriptionId),
      webhookSubscriptionDecider,
      command,
      { metadata: eventMetadata(command.caller.address), fence: SUBSCRIPTION_SET_FENCE },
    );
    if (!outcome.ok) return outcome;
    await this.#visible(outcome.position, this.options.subscriptionReadModels);
    return { ...outcome, state: outcome.state as WebhookSubscription };
  }

  /**
   * The request as a command, with the caller and what decide must not make itself, so that it stays
   * pure: new endpoints and rotations get a fresh API key and signing secret, sealed before any event
   * sees them; commands that record a time get the clock.
   */
  #endpointCommand(caller: Caller, request: EndpointRequest, quota?: Quota): WebhookEndpointCommand {
    const sealedPair = () => ({
      apiKey: this.options.secrets.seal(randomBytes(32).toString("base64url")),
      // Standard Webhooks: whsec_ followed by the base64 of the key bytes.
      signingSecret: this.options.secrets.seal(`whsec_${randomBytes(32).toString("base64")}`),
    });
    if (request.type === "CreateWebhookEndpoint")
      return { ...request, caller, ...sealedPair(), now: Date.now(), quota };
    if (request.type === "RotateWebhookEndpointApiKey") return { ...request, caller, ...sealedPair() };
    if (request.type === "ResumeWebhookEndpoint") return { ...request, caller, now: Date.now() };
    return { ...request, caller };
  }

  /**
   * Creates counted against a quota run one at a time per quota in this process, each until its
   * read models show it, so the next one counts it. Processes do not wait for each other: with N
   * processes, N creates at once may pass a quota by N - 1 (README, "Quotas").
   */
  async #oneAtATime<T>(key: string, run: () => Promise<T>): Promise<T> {
    const current = (this.#queues.get(key) ?? Promise.resolve()).then(run);
    const settled = current.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(key, settled);
    try {
      return await current;
    } finally {
      if (this.#queues.get(key) === settled) this.#queues.delete(key);
    }
  }

  #visible(position: Position | undefined, readModels: readonly ProjectionMember[]): Promise<void> {
    const timeoutMs = this.options.readYourWritesMs ?? 5000;
    return awaitReadModels([position], readModels, { timeoutMs, logger: this.options.logger, after: "a command" });
  }
}

/** Changes of which endpoints can match (create or delete a subscription, delete an endpoint) move ingest's fence. */
const SUBSCRIPTION_SET_FENCE = {
  stream: SUBSCRIPTION_SET_STREAM,
  events: (decided: readonly (WebhookEndpointEvent | WebhookSubscriptionEvent)[]) =>
    decided.map(subscriptionSetChange).filter((marker) => marker !== undefined),
};

/** For ids that cannot name anything; the id is not echoed, since it is arbitrary input. */
function notFound(what: string): CommandOutcome<never> {
  return { ok: false, error: { code: "NOT_FOUND", message: `${what} not found` } };
}
