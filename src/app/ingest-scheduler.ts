import type { Logger } from "pino";
import { newEventId } from "../adapters/eventstore/event-id.js";
import {
  type AppendOutcome,
  type AppendRequest,
  type EventStore,
  FenceMovedError,
} from "../adapters/eventstore/event-store.js";
import type { DeliveryEvent, DeliveryLease } from "../domain/delivery.js";
import { type TransactionReceived, transactionText } from "../domain/ingest-events.js";
import { SUBSCRIPTION_SET_STREAM } from "../domain/webhook-events.js";
import { scheduleRequests } from "../reactions/dispatch-auditor.js";
import type { DeliveryDirectory } from "./delivery-directory.js";
import type { DeliveryWorker, HandOffCandidate, HandOffReservation } from "./delivery-worker.js";
import type { EndpointCache } from "./endpoint-cache.js";
import { faultPoint } from "./fault-injection.js";

/** The worker's side of the hand-off (delivery-worker.ts). */
export type DeliveryHandOff = Pick<DeliveryWorker, "reserve">;

export interface IngestSchedulerOptions {
  readonly store: EventStore;
  readonly directory: DeliveryDirectory;
  /** The endpoints, for the hand-off's candidates. */
  readonly endpoints: Pick<EndpointCache, "get">;
  /** Absent: every delivery goes through the queue. */
  readonly handOff?: DeliveryHandOff;
  readonly logger: Logger;
  /** How long a retry waits for the directory to reach a moved fence (default 5 s). */
  readonly fenceWaitMs?: number;
}

/** Ingest's append: requests in, one outcome per request, as EventStore.appendMany. */
export type IngestAppend = (requests: readonly AppendRequest[]) => Promise<AppendOutcome[]>;

const ACTOR = "system:ingest";
/** Subscription changes are rare: more moves than this while one batch retries means something is off. */
const MAX_FENCE_RETRIES = 5;
const FENCE_WAIT_MS = 5000;

/**
 * Schedules deliveries at ingest: each TransactionReceived goes out with one DeliveryScheduled per
 * endpoint its transaction matches in this process's directory, in one append fenced on the
 * subscription set's revision the directory reflects. A subscription change that committed since
 * moves the fence, the append writes nothing, and the batch is matched again once the directory has
 * caught up: the decisions agree with the log's order, as the dispatch auditor's do.
 *
 * A message delivered again (NATS redelivery, HTTP retry with the same idempotency key) lands on the
 * same streams, created with no_stream: its transaction and its deliveries are refused, nothing is
 * scheduled twice.
 */
export function ingestScheduler(options: IngestSchedulerOptions): IngestAppend {
  const { store, directory, logger } = options;
  return async (requests) => {
    const received = requests.map(transactionOf);
    if (received.every((data) => data === undefined)) return store.appendMany(requests);
    // The transaction's event id is fixed here, so retries and the deliveries' causation agree.
    const withIds = requests.map((request, i) =>
      received[i]
        ? { ...request, events: request.events.map((event) => ({ ...event, id: event.id ?? newEventId() })) }
        : request,
    );
    for (let attempt = 0; ; attempt++) {
      const version = directory.version;
      const scheduled = withIds.flatMap((request, i) => schedule(request, received[i], directory));
      const reservation = await reserve(scheduled, options);
      const leased = scheduled.map((delivery) => withLease(delivery, reservation?.leases.get(delivery.deliveryId)));
      let outcomes: AppendOutcome[];
      try {
        // Fenced, so never through the process's batcher (batchedStore sends it to the store): the
        // transactions, their deliveries and the fence check commit as one unit or not at all.
        outcomes = await store.appendMany([...withIds, ...leased.map((delivery) => delivery.request)], {
          fence: { stream: SUBSCRIPTION_SET_STREAM, expectedRevision: version },
        });
      } catch (error) {
        reservation?.cancel();
        if (!(error instanceof FenceMovedError) || attempt >= MAX_FENCE_RETRIES) throw error;
        logger.info(
          { expected: String(error.expected), actual: String(error.actual), attempt },
          "subscriptions changed while scheduling; matching again",
        );
        const reached = await directory.reached(error.actual, options.fenceWaitMs ?? FENCE_WAIT_MS);
        if (!reached)
          logger.warn(
            { actual: String(error.actual), version: String(directory.version) },
            "delivery directory is behind the subscription set",
          );
        continue;
      }
      faultPoint("after-ingest-commit");
      reservation?.commit(
        new Set(leased.filter((_, i) => outcomes[withIds.length + i]?.ok).map((delivery) => delivery.deliveryId)),
      );
      return outcomes.slice(0, withIds.length);
    }
  };
}

interface ScheduledDelivery {
  readonly deliveryId: string;
  readonly webhookId: string;
  readonly payload: string;
  readonly correlationId: string;
  readonly request: AppendRequest<DeliveryEvent>;
}

function transactionOf(request: AppendRequest): TransactionReceived["data"] | undefined {
  const [event, ...rest] = request.events;
  return event?.type === "TransactionReceived" && rest.length === 0 ? event.data : undefined;
}

/** The DeliveryScheduled of every endpoint the transaction matches now. */
function schedule(
  request: AppendRequest,
  data: TransactionReceived["data"] | undefined,
  directory: DeliveryDirectory,
): ScheduledDelivery[] {
  const [received] = request.events;
  if (!data || !received?.id) return [];
  const correlationId = received.metadata.correlationId;
  const payload = transactionText(data);
  return scheduleRequests(data, directory.match(data.transaction), {
    actor: ACTOR,
    correlationId,
    causationId: received.id,
  }).map((scheduled) => ({
    ...scheduled,
    payload,
    correlationId,
  }));
}

function withLease(delivery: ScheduledDelivery, lease: DeliveryLease | undefined): ScheduledDelivery {
  if (!lease) return delivery;
  const events = delivery.request.events.map((event) =>
    event.type === "DeliveryScheduled" ? { ...event, data: { ...event.data, lease } } : event,
  );
  return { ...delivery, request: { ...delivery.request, events } };
}

/**
 * Offers the worker the deliveries with their endpoints; the worker's reserve() decides which it
 * starts itself (active endpoints without a rate limit, within its caps).
 */
async function reserve(
  scheduled: readonly ScheduledDelivery[],
  options: IngestSchedulerOptions,
): Promise<HandOffReservation | undefined> {
  if (!options.handOff || scheduled.length === 0) return undefined;
  const webhookIds = [...new Set(scheduled.map((delivery) => delivery.webhookId))];
  const endpoints = new Map(
    await Promise.all(webhookIds.map(async (id) => [id, await options.endpoints.get(id)] as const)),
  );
  const candidates: HandOffCandidate[] = [];
  for (const { deliveryId: id, webhookId, payload, correlationId } of scheduled) {
    const endpoint = endpoints.get(webhookId);
    if (!endpoint) continue;
    candidates.push({ deliveryId: id, webhookId, payload, correlationId, endpoint });
  }
  return candidates.length === 0 ? undefined : options.handOff.reserve(candidates);
}
