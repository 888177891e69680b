import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { SecretBox } from "../adapters/crypto/secret-box.js";
import type { Database } from "../adapters/db/database.js";
import { AppendBatcher } from "../adapters/eventstore/append-batcher.js";
import { eventMetadata } from "../adapters/eventstore/event-metadata.js";
import type { EventStore } from "../adapters/eventstore/event-store.js";
import { AppendSignal } from "../adapters/eventstore/postgres-event-store.js";
import type { WebhookSender } from "../adapters/http/webhook-sender.js";
import { type AttemptReport, type DeliveryCommand, decide, deliveryStream } from "../domain/delivery.js";
import {
  type ClaimedDelivery,
  claimDeliveries,
  DELIVERY_QUEUE_CHANNEL,
  attemptsElsewhere,
  msUntilNextDue,
  releaseDeliveries,
} from "../projections/delivery-queue.js";
import { takeEndpointSendSlots } from "../projections/delivery-send-slots.js";
import type { Config } from "./config.js";

export interface DeliveryWorkerOptions {
  readonly database: Database;
  readonly store: EventStore;
  readonly sender: WebhookSender;
  readonly secretBox: SecretBox;
  /** Told of every attempt's outcome and duration (metrics). */
  readonly onAttempt?: (report: AttemptReport) => void;
  /** Told of claimed deliveries given back because their endpoint is at its limit (metrics). */
  readonly onDeferred?: (reason: DeferralReason, count: number) => void;
  readonly logger: Logger;
  readonly config: Pick<Config, "deliveryTimeoutMs" | "retryBaseMs" | "retryMaxMs" | "workerConcurrency" | "endpointConcurrency">;
}

export type DeferralReason = "endpoint_concurrency" | "rate_limit";

export interface DeliveryWorker {
  /** Stops claiming, lets attempts in flight finish and records them. */
  stop(): Promise<void>;
}

/** How long an endpoint at its concurrency cap through other processes' attempts is left alone: they send no signal when one ends. */
const CAP_HELD_ELSEWHERE_MS = 100;
/** The longest idle wait: a safety net under NOTIFY and the next due time. */
const IDLE_POLL_MS = 1000;
const ERROR_BACKOFF_MS = 1000;

/**
 * Claims due deliveries from the queue in batches and runs their attempts, at most
 * HERALD_WORKER_CONCURRENCY at once, HERALD_ENDPOINT_CONCURRENCY per endpoint across all processes
 * (counting the attempts other workers may still be making), and no faster than an endpoint's own rate limit (shared
 * by all processes: delivery-send-slots.ts). The claim is one
 * short statement; no database transaction is open during an HTTP request. Each attempt's events are
 * appended with the delivery stream's expected revision, so a worker whose lease expired (and whose
 * delivery someone else took over) has its append refused and dropped. A crash loses only leases:
 * they expire and the deliveries are attempted again (at-least-once).
 */
export async function startDeliveryWorker(options: DeliveryWorkerOptions): Promise<DeliveryWorker> {
  const { database, logger, config } = options;
  const db = database.db;
  // Longer than one attempt plus recording it, so a live worker never loses a delivery to another.
  const leaseMs = config.deliveryTimeoutMs * 2 + 5000;
  // Claim when a quarter of the slots are free, not on every completion: fewer, larger claims.
  const claimThreshold = Math.max(1, Math.floor(config.workerConcurrency / 4));
  const batcher = new AppendBatcher(options.store);
  const wake = new AppendSignal();
  const unlisten = await database.listen(DELIVERY_QUEUE_CHANNEL, () => wake.notify());
  const worker = randomUUID();
  /** This worker's attempts in flight, by endpoint. */
  const perEndpoint = new Map<string, number>();
  /**
   * Endpoints this worker leaves alone until a time (Date.now() ms): out of rate-limit slots, or at
   * their concurrency cap through other processes' attempts.
   */
  const waits = new Map<string, number>();
  /** Deliveries holding a slot: their attempt is in flight. */
  const inFlight = new Set<string>();
  /** Every delivery still being worked on, including those whose attempt is being recorded. */
  const tasks = new Set<Promise<void>>();
  let stopping = false;

  /** Endpoints whose deliveries this worker cannot start now: at their concurrency cap or rate limit. */
  const blocked = () => {
    const now = Date.now();
    for (const [webhookId, until] of waits) if (until <= now) waits.delete(webhookId);
    const full = [...perEndpoint].filter(([, count]) => count >= config.endpointConcurrency).map(([webhookId]) => webhookId);
    return [...full, ...waits.keys()];
  };
  const msUntilWaitEnds = () => Math.min(...[...waits.values()].map((until) => until - Date.now()));

  /**
   * Which claimed deliveries start now; the rest are given back. A claim of several rows of one
   * endpoint can overshoot its concurrency cap or its rate limit's slots.
   */
  async function admit(claimed: readonly ClaimedDelivery[]): Promise<{ admitted: ClaimedDelivery[]; giveBack: string[] }> {
    const admitted: ClaimedDelivery[] = [];
    const giveBack: string[] = [];
    const elsewhere = await attemptsElsewhere(db, [...new Set(claimed.map((delivery) => delivery.webhookId))], {
      worker,
      leaseMs,
      attemptMs: config.deliveryTimeoutMs,
    });
    const inFlightAfter = new Map(perEndpoint);
    /** Attempts on rate-limited endpoints, by endpoint: they start only with a slot. */
    const limited = new Map<string, ClaimedDelivery[]>();
    for (const delivery of claimed) {
      const count = inFlightAfter.get(delivery.webhookId) ?? 0;
      const others = elsewhere.get(delivery.webhookId) ?? 0;
      if (count + others >= config.endpointConcurrency) {
        giveBack.push(delivery.deliveryId);
        options.onDeferred?.("endpoint_concurrency", 1);
        if (others > 0) waits.set(delivery.webhookId, Math.max(waits.get(delivery.webhookId) ?? 0, Date.now() + CAP_HELD_ELSEWHERE_MS));
        continue;
      }
      inFlightAfter.set(delivery.webhookId, count + 1);
      if (delivery.endpoint.rateLimit === null || lifecycleCommand(delivery, 0)) admitted.push(delivery);
      else limited.set(delivery.webhookId, [...(limited.get(delivery.webhookId) ?? []), delivery]);
    }
    const grants = await takeEndpointSendSlots(db, new Map([...limited].map(([webhookId, deliveries]) => [webhookId, deliveries.length])));
    for (const [webhookId, deliveries] of limited) {
      const { granted, waitMs } = grants.get(webhookId) ?? { granted: deliveries.length, waitMs: 0 };
      admitted.push(...deliveries.slice(0, granted));
      giveBack.push(...deliveries.slice(granted).map((delivery) => delivery.deliveryId));
      if (granted < deliveries.length) {
        waits.set(webhookId, Date.now() + waitMs);
        options.onDeferred?.("rate_limit", deliveries.length - granted);
      }
    }
    return { admitted, giveBack };
  }

  const start = (delivery: ClaimedDelivery) => {
    inFlight.add(delivery.deliveryId);
    perEndpoint.set(delivery.webhookId, (perEndpoint.get(delivery.webhookId) ?? 0) + 1);
    // The slot is freed when the attempt ends, not when it is recorded: recording is group-committed
    // with other attempts' and must not hold the next attempt back. The lease covers both.
    const freeSlot = () => {
      if (!inFlight.delete(delivery.deliveryId)) return;
      const left = (perEndpoint.get(delivery.webhookId) ?? 1) - 1;
      if (left === 0) perEndpoint.delete(delivery.webhookId);
      else perEndpoint.set(delivery.webhookId, left);
      wake.notify();
    };
    const task = process(delivery, freeSlot)
      .catch((error: unknown) => logger.error({ err: error, deliveryId: delivery.deliveryId }, "delivery task failed; its lease will expire and it will be retried"))
      .finally(() => {
        freeSlot();
        tasks.delete(task);
      });
    tasks.add(task);
  };

  async function process(delivery: ClaimedDelivery, attemptEnded: () => void): Promise<void> {
    const command = await commandFor(delivery);
    attemptEnded();
    const decision = decide(command, { status: delivery.state, attempts: delivery.attempts });
    if (!decision.ok) {
      logger.warn({ deliveryId: delivery.deliveryId, reason: decision.reason }, "delivery queue row disagrees with its stream; skipped");
      return;
    }
    const outcome = await batcher.append({
      stream: deliveryStream(delivery.deliveryId),
      expectedRevision: delivery.revision,
      events: decision.events.map((event) => ({
        type: event.type,
        data: event.data,
        metadata: eventMetadata("system:delivery-worker", { correlationId: delivery.correlationId }),
      })),
    });
    if (!outcome.ok) {
      // Someone else moved the delivery on (our lease had expired): their record stands, ours is dropped.
      logger.info({ deliveryId: delivery.deliveryId, expected: String(delivery.revision) }, "stale delivery attempt dropped");
    }
  }

  /** What the delivery needs now: an attempt, or recording what happened to its endpoint. */
  async function commandFor(delivery: ClaimedDelivery): Promise<DeliveryCommand> {
    const { deliveryId, endpoint } = delivery;
    const lifecycle = lifecycleCommand(delivery, Date.now());
    if (lifecycle) return lifecycle;
    const report = await options.sender.send({
      url: endpoint.url,
      id: deliveryId,
      body: delivery.payload,
      apiKey: options.secretBox.open(endpoint.apiKey),
      signingSecret: options.secretBox.open(endpoint.signingSecret),
    });
    options.onAttempt?.(report);
    logger.debug(
      { deliveryId, webhookId: delivery.webhookId, attempt: delivery.attempts + 1, result: report.result, durationMs: report.durationMs },
      "delivery attempted",
    );
    return {
      type: "RecordAttempt",
      deliveryId,
      report,
      retries: endpoint.retries,
      schedule: { baseMs: config.retryBaseMs, maxMs: config.retryMaxMs },
      now: Date.now(),
      random: Math.random(),
    };
  }

  async function run(): Promise<void> {
    while (!stopping) {
      const signalBefore = wake.count;
      const free = config.workerConcurrency - inFlight.size;
      if (free < claimThreshold) {
        await wake.wait(IDLE_POLL_MS);
        continue;
      }
      let waitMs: number;
      try {
        const claimed = await claimDeliveries(db, { limit: free, leaseMs, skipWebhooks: blocked(), worker });
        const { admitted, giveBack } = await admit(claimed);
        if (stopping) {
          // Stopped while claiming: start none of them, and give the leases back so that another
          // process takes them at once instead of after the lease.
          await releaseDeliveries(db, claimed.map((delivery) => delivery.deliveryId));
          break;
        }
        for (const delivery of admitted) start(delivery);
        await releaseDeliveries(db, giveBack);
        if (claimed.length === free && giveBack.length === 0) continue;
        waitMs = Math.min((await msUntilNextDue(db, blocked())) ?? IDLE_POLL_MS, IDLE_POLL_MS, msUntilWaitEnds());
      } catch (error) {
        if (stopping) break;
        // At first start the worker may run before the delivery-queue projection has created its
        // tables (42P01, undefined table): that is a moment's wait, not a fault.
        if ((error as { code?: string }).code === "42P01") logger.debug("delivery queue not created yet; waiting");
        else logger.warn({ err: error }, "claiming deliveries failed; retrying");
        waitMs = ERROR_BACKOFF_MS;
      }
      // A NOTIFY or a finished task since the claim means there may be work now.
      if (wake.count === signalBefore && waitMs > 0) await wake.wait(waitMs);
    }
  }

  const loop = run();
  logger.info({ concurrency: config.workerConcurrency, perEndpoint: config.endpointConcurrency, leaseMs }, "delivery worker running");
  return {
    async stop() {
      stopping = true;
      wake.notify();
      await loop;
      await Promise.allSettled([...tasks]);
      await batcher.drain();
      await unlisten();
      await options.sender.close();
    },
  };
}

/** The command for a delivery that needs no attempt, only its endpoint's state recorded; undefined when it needs an attempt. */
function lifecycleCommand(delivery: ClaimedDelivery, now: number): DeliveryCommand | undefined {
  const { deliveryId, endpoint } = delivery;
  if (endpoint.status === "deleted") return { type: "Cancel", deliveryId, reason: "endpoint_deleted", now };
  if (delivery.state === "paused") return { type: "Resume", deliveryId, now };
  if (endpoint.status === "paused") return { type: "Pause", deliveryId, now };
  return undefined;
}
