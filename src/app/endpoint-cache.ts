import type { EventStore, ReadFrom } from "../adapters/eventstore/event-store.js";
import type { LogPump } from "../adapters/eventstore/log-pump.js";
import { getOrCreate } from "../domain/get-or-create.js";
import { isWebhookEndpointEvent } from "../domain/herald-event.js";
import { WEBHOOK_ENDPOINT_EVENT_TYPES } from "../domain/webhook-events.js";
import type { HandOffCandidate } from "./delivery-worker.js";
import { readWebhookEndpoint } from "./entity-streams.js";

/** An endpoint as the first attempt of a handed-off delivery needs it (secrets sealed). */
export type CachedEndpoint = HandOffCandidate["endpoint"];

/**
 * The endpoints ingest hands deliveries off to, in memory: each is read from its own stream on first
 * use, and dropped when the process's log reader brings a change of it, so that the next use reads it
 * again. Ingest so costs no query per batch for its endpoints (it read the queue's endpoint rows).
 *
 * A read that was under way when a change arrived is used once and not kept: the reader only brings
 * committed events, so a read that starts after the change sees it. Endpoints change rarely; the
 * cache holds one entry per endpoint deliveries were scheduled to, no more than the subscription
 * directory already holds.
 */
export class EndpointCache {
  readonly #entries = new Map<string, Promise<CachedEndpoint | undefined>>();

  private constructor(private readonly store: EventStore) {}

  /** A cache that follows endpoint changes from `from` (the log's head when it starts). */
  static follow(options: { readonly store: EventStore; readonly pump: LogPump; readonly from: ReadFrom }): {
    readonly cache: EndpointCache;
    readonly stop: () => void;
  } {
    const cache = new EndpointCache(options.store);
    const stop = options.pump.register(
      {
        name: "endpoint-cache",
        eventTypes: WEBHOOK_ENDPOINT_EVENT_TYPES,
        handle: async (page) => {
          for (const event of page.events)
            if (isWebhookEndpointEvent(event)) cache.#entries.delete(event.data.webhookId);
        },
      },
      options.from,
    );
    return { cache, stop };
  }

  /** The endpoint, or undefined when it was never created. */
  get(webhookId: string): Promise<CachedEndpoint | undefined> {
    return getOrCreate(this.#entries, webhookId, () => {
      const read = this.#read(webhookId);
      // A failed read is not kept: the next use tries again.
      read.catch(() => {
        if (this.#entries.get(webhookId) === read) this.#entries.delete(webhookId);
      });
      return read;
    });
  }

  async #read(webhookId: string): Promise<CachedEndpoint | undefined> {
    const endpoint = await readWebhookEndpoint(this.store, webhookId);
    if (!endpoint) return undefined;
    const status = endpoint.deleted ? "deleted" : endpoint.paused || endpoint.disabledReason ? "paused" : "active";
    const { url, retries, apiKey, signingSecret } = endpoint;
    return { url, retries, rateLimit: endpoint.rateLimit ?? null, apiKey, signingSecret, status };
  }
}
