import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { SecretBox } from "../adapters/crypto/secret-box.js";
import type { Database } from "../adapters/db/database.js";
import { AppendBatcher } from "../adapters/eventstore/append-batcher.js";
import { eventMetadata } from "../adapters/eventstore/event-metadata.js";
import type { EventStore } from "../adapters/eventstore/event-store.js";
import { AppendSignal } from "../adapters/eventstore/postgres-event-store.js";
import type { WebhookSender } from "../adapters/http/webhook-sender.js";
import {
  type AttemptReport,
  type DeliveryCommand,
  type DeliveryLease,
  deliveryDecider,
  deliveryStream,
} from "../domain/delivery.js";
import { DELIVERY_QUEUE_CHANNEL, QUEUE_ROWS_DUE } from "../projections/delivery-queue.js";
import type { Config } from "./config.js";
import {
  attemptsElsewhere,
  type ClaimedDelivery,
  claimDeliveries,
  msUntilNextDue,
  pruneLeases,
  releaseDeliveries,
} from "./delivery-claims.js";
import { takeEndpointSendSlots } from "./delivery-send-slots.js";
import { faultPoint } from "./fault-injection.js";

export interface DeliveryWorkerOptions {
  readonly database: Database;
  readonly store: EventStore;
  /** The process's batcher, shared with ingest, reactors and commands; the worker's own when absent. */
  readonly appends?: AppendBatcher;
  readonly sender: WebhookSender;
  readonly secretBox: SecretBox;
  /** Told of every attempt's outcome and duration (metrics). */
  readonly onAttempt?: (report: AttemptReport) => void;
  /** Told of claimed deliveries given back because their endpoint is at its limit (metrics). */
  readonly onDeferred?: (reason: DeferralReason, count: number) => void;
  readonly logger: Logger;
  readonly config: Pick<
    Config,
    "deliveryTimeoutMs" | "retryBaseMs" | "retryMaxMs" | "workerConcurrency" | "endpointConcurrency"
  >;
}

export type DeferralReason = "endpoint_concurrency" | "rate_limit";

export interface DeliveryWorker {
  /**
   * Hand-off (ingest → worker, no queue round trip): takes attempt slots for the candidates this
   * worker can start at once (active endpoint without a rate limit, within HERALD_WORKER_CONCURRENCY
   * and the endpoint's cap); the others get no lease and are left to the queue. Never waits: no
   * free slot is no lease, so overflow takes the queue path and ingest never blocks on the worker.
   */
  reserve(candidates: readonly HandOffCandidate[]): HandOffReservation;
  /**
   * Stops claiming and handing off, lets attempts in flight finish (handed-off ones included) and
   * records them; reservations whose append is still running are waited for a moment, then cancelled.
   */
  stop(): Promise<void>;
}

/** A delivery ingest is about to schedule, with what its first attempt needs. */
export interface HandOffCandidate {
  readonly deliveryId: string;
  readonly webhookId: string;
  /** The exact body every attempt sends. */
  readonly payload: string;
  readonly correlationId: string;
  /** The endpoint as ingest's cache holds it; secrets sealed. */
  readonly endpoint: ClaimedDelivery["endpoint"];
}

export interface HandOffReservation {
  /** deliveryId → the lease to write into its DeliveryScheduled; candidates absent here go through the queue. */
  readonly leases: ReadonlyMap<string, DeliveryLease>;
  /**
   * The append committed: `written` are the deliveries it created (a duplicate's refused creation is
   * not among them). Their first attempts start now, at revision 0; the other slots are freed.
   */
  commit(written: Iterable<string>): void;
  /** The append failed: every slot is freed. */
  cancel(): void;
}

/** How long an endpoint at its concurrency cap through other processes' attempts is left alone: they send no signal when one ends. */
const CAP_HELD_ELSEWHERE_MS = 100;
/** The longest a claim goes without looking for rows an endpoint's state calls for. */
const FULL_CLAIM_MS = 1000;
/** The longest idle wait: a safety net under NOTIFY and the next due time. */
const IDLE_POLL_MS = 1000;
const ERROR_BACKOFF_MS = 1000;
/** How often each worker deletes expired leases, and how many at most each time (delivery-claims.ts). */
const LEASE_PRUNE_MS = 5000;
const LEASE_PRUNE_LIMIT = 10_000;
/** The revision of a delivery stream holding only its DeliveryScheduled. */
const SCHEDULED_REVISION = 0n;

/**
 * Claims due deliveries from the queue in batches and runs their attempts, at most
 * HERALD_WORKER_CONCURRENCY at once, HERALD_ENDPOINT_CONCURRENCY per endpoint across all processes
 * (counting the attempts other workers may still be making), and no faster than an endpoint's own rate limit (shared
 * by all processes: delivery-send-slots.ts). The claim is one
 * short statement; no database transaction is open during an HTTP request. Each attempt's events are
 * appended with the delivery stream's expected revision, so a worker whose lease expired (and whose
 * delivery someone else took over) has its append refused and dropped. A crash loses only leases:
 * they expire and the deliveries are attempted again (at-least-once).
 *
 * Ingest hands fresh deliveries over directly (reserve, then commit once their DeliveryScheduled,
 * carrying this worker's lease, is durable): the first attempt starts without a claim, and the
 * queue row the projection writes later carries that lease. Claims live in the workers' own table
 * (delivery-claims.ts), which a rebuild of the queue leaves alone. The claim loop is the backstop for
 * everything else: retries, rate-limited, paused and deleted endpoints, recoveries, and leases a
 * crash left behind.
 */
export async function startDeliveryWorker(options: DeliveryWorkerOptions): Promise<DeliveryWorker> {
  const { database, logger, config } = options;
  const db = database.db;
  // Longer than one attempt plus recording it, so a live worker never loses a delivery to another.
  const leaseMs = config.deliveryTimeoutMs * 2 + 5000;
  // Claim when a quarter of the slots are free, not on every completion: fewer, larger claims.
  const claimThreshold = Math.max(1, Math.floor(config.workerConcurrency / 4));
  const batcher = options.appends ?? new AppendBatcher(options.store);
  const wake = new AppendSignal();
  /**
   * Bumped by what can make queue rows claimable: the queue's NOTIFY (rows due, endpoint state
   * changed), or a slot freed on an endpoint at its cap.
   */
  let queueGeneration = 0;
  /**
   * Set after a claim that left nothing claimable: no claim until `until` (the next due row, or the
   * idle poll) unless the generation moves. Slots freed by finished attempts wake the loop, but claim
   * nothing while the queue is drained: handed-off deliveries never touch the queue.
   */
  let drained: { generation: number; until: number } | undefined;
  let pruneAt = 0;
  /**
   * When the next claim must also look for rows an endpoint's state calls for (a scan of the queue,
   * see claimDeliveries): after the queue says an endpoint changed, and at least every
   * FULL_CLAIM_MS, which also covers a NOTIFY lost with a dropped connection.
   */
  let fullClaimAt = 0;
  const unlisten = await database.listen(DELIVERY_QUEUE_CHANNEL, (payload) => {
    queueGeneration++;
    if (payload !== QUEUE_ROWS_DUE) fullClaimAt = 0;
    wake.notify();
  });
  const worker = randomUUID();
  /** Slots held by endpoint: this worker's attempts in flight and hand-offs reserved. */
  const perEndpoint = new Map<string, number>();
  /**
   * Endpoints this worker leaves alone until a time (Date.now() ms): out of rate-limit slots, or at
   * their concurrency cap through other processes' attempts.
   */
  const waits = new Map<string, number>();
  /** Deliveries holding a slot: their attempt is in flight, or reserved for a hand-off. */
  const holding = new Set<string>();
  /** Hand-offs whose append has not come back yet. */
  const reservations = new Set<HandOffReservation>();
  /**
   * Other workers' attempts by endpoint, for hand-offs, which must not wait for a query: refreshed
   * in the background when older than CAP_HELD_ELSEWHERE_MS, so it lags by about that much.
   */
  let elsewhere = new Map<string, number>();
  let elsewhereAt = 0;
  let elsewhereRefreshing = false;
  /** Every delivery still being worked on, including those whose attempt is being recorded. */
  const tasks = new Set<Promise<void>>();
  let stopping = false;

  /** Endpoints whose deliveries this worker cannot start now: at their concurrency cap or rate limit. */
  const blocked = () => {
    const now = Date.now();
    for (const [webhookId, until] of waits) if (until <= now) waits.delete(webhookId);
    const full = [...perEndpoint]
      .filter(([, count]) => count >= config.endpointConcurrency)
      .map(([webhookId]) => webhookId);
    return [...full, ...waits.keys()];
  };
  const msUntilWaitEnds = () => Math.min(...[...waits.values()].map((until) => until - Date.now()));

  /**
   * Which claimed deliveries start now; the rest are given back. A claim of several rows of one
   * endpoint can overshoot its concurrency cap or its rate limit's slots.
   */
  async function admit(
    claimed: readonly ClaimedDelivery[],
  ): Promise<{ admitted: ClaimedDelivery[]; giveBack: string[] }> {
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
        if (others > 0)
          waits.set(
            delivery.webhookId,
            Math.max(waits.get(delivery.webhookId) ?? 0, Date.now() + CAP_HELD_ELSEWHERE_MS),
          );
        continue;
      }
      inFlightAfter.set(delivery.webhookId, count + 1);
      if (delivery.endpoint.rateLimit === null || lifecycleCommand(delivery, 0)) admitted.push(delivery);
      else limited.set(delivery.webhookId, [...(limited.get(delivery.webhookId) ?? []), delivery]);
    }
    const grants = await takeEndpointSendSlots(
      db,
      new Map([...limited].map(([webhookId, deliveries]) => [webhookId, deliveries.length])),
    );
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

  const takeSlot = (deliveryId: string, webhookId: string) => {
    holding.add(deliveryId);
    perEndpoint.set(webhookId, (perEndpoint.get(webhookId) ?? 0) + 1);
  };
  const freeSlot = (deliveryId: string, webhookId: string) => {
    if (!holding.delete(deliveryId)) return;
    // The claim skipped this endpoint's rows while it was at its cap: they may be claimable now.
    if ((perEndpoint.get(webhookId) ?? 0) >= config.endpointConcurrency) queueGeneration++;
    const left = (perEndpoint.get(webhookId) ?? 1) - 1;
    if (left === 0) perEndpoint.delete(webhookId);
    else perEndpoint.set(webhookId, left);
    wake.notify();
  };

  /** Runs a delivery whose slot is taken. */
  const start = (delivery: ClaimedDelivery) => {
    // The slot is freed when the attempt ends, not when it is recorded: recording is group-committed
    // with other attempts' and must not hold the next attempt back. The lease covers both.
    const attemptEnded = () => freeSlot(delivery.deliveryId, delivery.webhookId);
    const task = process(delivery, attemptEnded)
      .catch((error: unknown) =>
        logger.error(
          { err: error, deliveryId: delivery.deliveryId },
          "delivery task failed; its lease will expire and it will be retried",
        ),
      )
      .finally(() => {
        attemptEnded();
        tasks.delete(task);
      });
    tasks.add(task);
  };

  async function process(delivery: ClaimedDelivery, attemptEnded: () => void): Promise<void> {
    const command = await commandFor(delivery);
    attemptEnded();
    const decision = deliveryDecider.decide(command, { status: delivery.state, attempts: delivery.attempts });
    if (!decision.ok) {
      logger.warn(
        { deliveryId: delivery.deliveryId, reason: decision.error.message },
        "delivery queue row disagrees with its stream; skipped",
      );
      return;
    }
    const outcome = await batcher.append({
      stream: deliveryStream(delivery.deliveryId),
      expectedRevision: delivery.revision,
      events: decision.events.map((event) => ({
        ...event,
        metadata: eventMetadata("system:delivery-worker", { correlationId: delivery.correlationId }),
      })),
    });
    if (!outcome.ok) {
      // Someone else moved the delivery on (our lease had expired): their record stands, ours is dropped.
      logger.info(
        { deliveryId: delivery.deliveryId, expected: String(delivery.revision) },
        "stale delivery attempt dropped",
      );
    }
  }

  /** What the delivery needs now: an attempt, or recording what happened to its endpoint. */
  async function commandFor(delivery: ClaimedDelivery): Promise<DeliveryCommand> {
    const { deliveryId, endpoint } = delivery;
    const lifecycle = lifecycleCommand(delivery, Date.now());
    if (lifecycle) return lifecycle;
    faultPoint("before-post");
    const report = await options.sender.send({
      url: endpoint.url,
      id: deliveryId,
      body: delivery.payload,
      apiKey: options.secretBox.open(endpoint.apiKey),
      signingSecret: options.secretBox.open(endpoint.signingSecret),
    });
    options.onAttempt?.(report);
    logger.debug(
      {
        deliveryId,
        webhookId: delivery.webhookId,
        attempt: delivery.attempts + 1,
        result: report.result,
        durationMs: report.durationMs,
      },
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
      if (drained && drained.generation === queueGeneration && Date.now() < drained.until) {
        await wake.wait(drained.until - Date.now());
        continue;
      }
      drained = undefined;
      const generation = queueGeneration;
      const free = config.workerConcurrency - holding.size;
      if (free < claimThreshold) {
        await wake.wait(IDLE_POLL_MS);
        continue;
      }
      let waitMs: number;
      try {
        if (Date.now() >= pruneAt) {
          pruneAt = Date.now() + LEASE_PRUNE_MS;
          await pruneLeases(db, LEASE_PRUNE_LIMIT);
        }
        const dueOnly = Date.now() < fullClaimAt;
        if (!dueOnly) fullClaimAt = Date.now() + FULL_CLAIM_MS;
        const claimed = await claimDeliveries(db, {
          limit: free,
          leaseMs,
          skipWebhooks: blocked(),
          worker,
          perEndpoint: { cap: config.endpointConcurrency, inFlight: perEndpoint },
          dueOnly,
        });
        const { admitted, giveBack } = await admit(claimed);
        if (stopping) {
          // Stopped while claiming: start none of them, and give the leases back so that another
          // process takes them at once instead of after the lease.
          await releaseDeliveries(
            db,
            worker,
            claimed.map((delivery) => delivery.deliveryId),
          );
          break;
        }
        for (const delivery of admitted) {
          takeSlot(delivery.deliveryId, delivery.webhookId);
          start(delivery);
        }
        await releaseDeliveries(db, worker, giveBack);
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
      // A NOTIFY since the claim began (the generation moved) means there may be work now.
      if (waitMs > 0) drained = { generation, until: Date.now() + waitMs };
    }
  }

  const refreshElsewhere = () => {
    if (elsewhereRefreshing || Date.now() - elsewhereAt < CAP_HELD_ELSEWHERE_MS) return;
    elsewhereRefreshing = true;
    attemptsElsewhere(db, undefined, { worker, leaseMs, attemptMs: config.deliveryTimeoutMs })
      .then(
        (counts) => {
          elsewhere = counts;
          elsewhereAt = Date.now();
        },
        // Until the queue's tables exist (first start) or while the database is away, the last counts stand.
        (error: unknown) => logger.debug({ err: error }, "counting other workers' attempts failed"),
      )
      .finally(() => {
        elsewhereRefreshing = false;
      });
  };

  function reserve(candidates: readonly HandOffCandidate[]): HandOffReservation {
    refreshElsewhere();
    const leases = new Map<string, DeliveryLease>();
    const reserved = new Map<string, HandOffCandidate>();
    const until = Date.now() + leaseMs;
    for (const candidate of candidates) {
      if (stopping || holding.size >= config.workerConcurrency) break;
      const { deliveryId, webhookId, endpoint } = candidate;
      // Rate limits are shared by every process through the database (delivery-send-slots.ts), and a
      // paused or deleted endpoint's delivery needs a lifecycle record, not an attempt: the queue's way.
      if (endpoint.status !== "active" || endpoint.rateLimit !== null) continue;
      // Already here: a redelivered message whose delivery this worker is attempting.
      if (holding.has(deliveryId)) continue;
      if ((perEndpoint.get(webhookId) ?? 0) + (elsewhere.get(webhookId) ?? 0) >= config.endpointConcurrency) continue;
      takeSlot(deliveryId, webhookId);
      reserved.set(deliveryId, candidate);
      leases.set(deliveryId, { worker, until });
    }
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      reservations.delete(reservation);
      wake.notify();
      return true;
    };
    const reservation: HandOffReservation = {
      leases,
      commit(writtenIds) {
        const written = new Set(writtenIds);
        if (!settle()) {
          const late = [...reserved.keys()].filter((id) => written.has(id));
          if (late.length > 0)
            logger.info(
              { deliveries: late.length },
              "hand-off committed after the worker stopped; the queue delivers them when their lease ends",
            );
          return;
        }
        for (const [deliveryId, candidate] of reserved) {
          if (!written.has(deliveryId)) {
            freeSlot(deliveryId, candidate.webhookId);
            continue;
          }
          const { webhookId, payload, correlationId, endpoint } = candidate;
          start({
            deliveryId,
            webhookId,
            payload,
            correlationId,
            state: "pending",
            attempts: 0,
            revision: SCHEDULED_REVISION,
            endpoint,
          });
        }
      },
      cancel() {
        if (!settle()) return;
        for (const [deliveryId, candidate] of reserved) freeSlot(deliveryId, candidate.webhookId);
      },
    };
    if (reserved.size > 0) reservations.add(reservation);
    else settled = true;
    return reservation;
  }

  /** Resolves when no hand-off awaits its append, or after `ms`. */
  async function reservationsSettled(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (reservations.size > 0 && Date.now() < deadline) await wake.wait(deadline - Date.now());
  }

  const loop = run();
  refreshElsewhere();
  logger.info(
    { concurrency: config.workerConcurrency, perEndpoint: config.endpointConcurrency, leaseMs },
    "delivery worker running",
  );
  return {
    reserve,
    async stop() {
      stopping = true;
      wake.notify();
      await loop;
      // Ingest stops alongside and settles its append in flight: attempts it hands over are finished
      // like the others. One it never settles is cancelled; its leases expire and the queue delivers.
      await reservationsSettled(config.deliveryTimeoutMs);
      for (const reservation of [...reservations]) reservation.cancel();
      while (tasks.size > 0) await Promise.allSettled([...tasks]);
      // Each task awaits its own append: a shared batcher is drained by its owner, after every user has
      // stopped.
      if (!options.appends) await batcher.drain();
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
