import type { Decider } from "./decider.js";
import { accept, type Decision, refuse } from "./decision.js";
import { deterministicId } from "./deterministic-id.js";
import { type TransactionBody, transactionBody } from "./ingest-events.js";
import { type AttemptErrorClass, type AttemptResult, decideRetry, type RetrySchedule } from "./retry-policy.js";

/**
 * The delivery aggregate: one transaction to one endpoint (stream `delivery-<deliveryId>`). Every
 * attempt is an event, so the stream is the audit trail and the delivery queue is a projection of it.
 * The id is derived from (webhookId, transactionId): a replayed or duplicated transaction lands on
 * the same stream, whose creation (expected revision no_stream) then fails, so nothing is scheduled twice.
 */

export const deliveryId = (webhookId: string, transactionId: string): string =>
  deterministicId("herald/delivery", webhookId, transactionId);
export const deliveryStream = (id: string): string => `delivery-${id}`;

/** Response bodies kept in DeliveryAttempted are cut to this many bytes. */
export const RESPONSE_BODY_LIMIT_BYTES = 4096;

export type DeliveryFailureReason = "not_retryable" | "retries_exhausted" | "negative_retry_after" | "endpoint_deleted";

export interface DeliveryScheduled {
  readonly type: "DeliveryScheduled";
  /**
   * The body every attempt sends: `publishedText`, as published (see ingest-events.ts), the whole
   * transaction, so the stream shows what was delivered. Carried once (see TransactionBody): events
   * recorded before have `transaction` beside it, or alone.
   */
  readonly data: TransactionBody & {
    readonly deliveryId: string;
    readonly webhookId: string;
    readonly transactionId: string;
    /** The subscriptions of the endpoint that matched. */
    readonly subscriptionIds: readonly string[];
    /** Milliseconds since the epoch; the first attempt is due then. */
    readonly scheduledAt: number;
    /**
     * Set when the process that scheduled the delivery started its first attempt itself, right after
     * the append committed: the queue holds the delivery leased to that worker until `until`, so no
     * other worker claims it meanwhile; if that process dies, the lease expires and the queue delivers.
     */
    readonly lease?: DeliveryLease;
  };
}

/** A delivery held by one worker until a time: the queue leaves it to that worker until then. */
export interface DeliveryLease {
  /** The worker (one per process). */
  readonly worker: string;
  /** Milliseconds since the epoch. */
  readonly until: number;
}

export interface DeliveryAttempted {
  readonly type: "DeliveryAttempted";
  readonly data: {
    readonly deliveryId: string;
    /** From 1. */
    readonly attempt: number;
    /** Milliseconds since the epoch. */
    readonly startedAt: number;
    readonly durationMs: number;
    /** The URL attempted (endpoint URLs carry no credentials: see network-address.ts). */
    readonly url: string;
    readonly status?: number;
    readonly errorClass?: AttemptErrorClass;
    /** The Retry-After header as received, parsed or not. */
    readonly retryAfter?: string;
    /** At most RESPONSE_BODY_LIMIT_BYTES of the response body. */
    readonly responseBody?: string;
  };
}

export interface DeliveryRetryScheduled {
  readonly type: "DeliveryRetryScheduled";
  readonly data: { readonly deliveryId: string; readonly attempt: number; readonly dueAt: number };
}

export interface DeliverySucceeded {
  readonly type: "DeliverySucceeded";
  readonly data: { readonly deliveryId: string; readonly attempt: number; readonly at: number };
}

export interface DeliveryFailed {
  readonly type: "DeliveryFailed";
  readonly data: {
    readonly deliveryId: string;
    readonly reason: DeliveryFailureReason;
    readonly attempts: number;
    readonly at: number;
  };
}

/** The endpoint was paused: no attempt until it resumes. */
export interface DeliveryPaused {
  readonly type: "DeliveryPaused";
  readonly data: { readonly deliveryId: string; readonly at: number };
}

/** The endpoint resumed: the next attempt is due at dueAt. */
export interface DeliveryResumed {
  readonly type: "DeliveryResumed";
  readonly data: { readonly deliveryId: string; readonly dueAt: number };
}

/**
 * Someone asked for a failed delivery to be attempted again (redeliver, recoverDeliveries). It carries
 * what the queue needs to take the delivery back, since the queue forgot it when it failed. The next
 * attempt continues the numbering, so it lands in the same history, and the endpoint's retry budget:
 * a delivery that exhausted its retries gets a single attempt, one that failed early keeps the rest.
 */
export interface DeliveryRedeliveryRequested {
  readonly type: "DeliveryRedeliveryRequested";
  /** The body as DeliveryScheduled carries it (see TransactionBody). */
  readonly data: TransactionBody & {
    readonly deliveryId: string;
    readonly webhookId: string;
    /** Attempts made before this request. */
    readonly attempts: number;
    /** Milliseconds since the epoch; the attempt is due then. */
    readonly dueAt: number;
  };
}

export type DeliveryEvent =
  | DeliveryScheduled
  | DeliveryAttempted
  | DeliveryRetryScheduled
  | DeliverySucceeded
  | DeliveryFailed
  | DeliveryPaused
  | DeliveryResumed
  | DeliveryRedeliveryRequested;

export const DELIVERY_EVENT_TYPES = [
  "DeliveryScheduled",
  "DeliveryAttempted",
  "DeliveryRetryScheduled",
  "DeliverySucceeded",
  "DeliveryFailed",
  "DeliveryPaused",
  "DeliveryResumed",
  "DeliveryRedeliveryRequested",
] as const satisfies readonly DeliveryEvent["type"][];

export type DeliveryStatus = "none" | "pending" | "paused" | "succeeded" | "failed";

export interface DeliveryState {
  readonly status: DeliveryStatus;
  /** Attempts made so far. */
  readonly attempts: number;
}

const initialDeliveryState: DeliveryState = { status: "none", attempts: 0 };

function evolveDelivery(state: DeliveryState, event: DeliveryEvent): DeliveryState {
  switch (event.type) {
    case "DeliveryScheduled":
    case "DeliveryRetryScheduled":
    case "DeliveryResumed":
    case "DeliveryRedeliveryRequested":
      return { ...state, status: "pending" };
    case "DeliveryAttempted":
      return { ...state, attempts: event.data.attempt };
    case "DeliveryPaused":
      return { ...state, status: "paused" };
    case "DeliverySucceeded":
      return { ...state, status: "succeeded" };
    case "DeliveryFailed":
      return { ...state, status: "failed" };
  }
}

/** What one attempt saw, measured by the sender. */
export interface AttemptReport {
  readonly result: AttemptResult;
  readonly url: string;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly responseBody?: string;
}

export type DeliveryCommand =
  | { readonly type: "Schedule"; readonly data: DeliveryScheduled["data"] }
  | {
      readonly type: "RecordAttempt";
      readonly deliveryId: string;
      readonly report: AttemptReport;
      /** The endpoint's retries at the time of the attempt. */
      readonly retries: number;
      readonly schedule: RetrySchedule;
      readonly now: number;
      readonly random: number;
    }
  | { readonly type: "Pause"; readonly deliveryId: string; readonly now: number }
  | { readonly type: "Resume"; readonly deliveryId: string; readonly now: number }
  | { readonly type: "Cancel"; readonly deliveryId: string; readonly reason: "endpoint_deleted"; readonly now: number }
  | (TransactionBody & {
      readonly type: "Redeliver";
      readonly deliveryId: string;
      readonly webhookId: string;
      readonly now: number;
    });

function decideDelivery(command: DeliveryCommand, state: DeliveryState): Decision<DeliveryEvent> {
  // The queue row or the stream is not where the command expects it: another worker, or a stale row.
  const notNow = (why: string) =>
    refuse<DeliveryEvent>({ code: "CONFLICT", message: `${command.type}: ${why} (status ${state.status})` });
  const finished = state.status === "succeeded" || state.status === "failed";
  switch (command.type) {
    case "Schedule":
      if (state.status !== "none") return notNow("already scheduled");
      return accept({ type: "DeliveryScheduled", data: command.data });
    case "RecordAttempt":
      if (state.status !== "pending") return notNow("not pending");
      return accept(...recordAttempt(command, state.attempts + 1));
    case "Pause":
      if (state.status !== "pending") return notNow("not pending");
      return accept({ type: "DeliveryPaused", data: { deliveryId: command.deliveryId, at: command.now } });
    case "Resume":
      if (state.status !== "paused") return notNow("not paused");
      return accept({ type: "DeliveryResumed", data: { deliveryId: command.deliveryId, dueAt: command.now } });
    case "Cancel":
      if (state.status === "none" || finished) return notNow("nothing to cancel");
      return accept({
        type: "DeliveryFailed",
        data: { deliveryId: command.deliveryId, reason: command.reason, attempts: state.attempts, at: command.now },
      });
    case "Redeliver": {
      // Only a failure is taken back: a request repeated while the delivery is pending again (or after
      // it succeeded) decides nothing, which is what makes redelivery idempotent under the caller's
      // expected revision.
      if (state.status !== "failed") return accept();
      const { deliveryId, webhookId, now } = command;
      const data = {
        deliveryId,
        webhookId,
        ...transactionBody(command),
        attempts: state.attempts,
        dueAt: now,
      };
      return accept({ type: "DeliveryRedeliveryRequested", data });
    }
  }
}

/** The delivery aggregate's decider; its refusals are all CONFLICT, the message says which state refused. */
export const deliveryDecider: Decider<DeliveryCommand, DeliveryEvent, DeliveryState> = {
  decide: decideDelivery,
  evolve: evolveDelivery,
  initialState: initialDeliveryState,
};

function recordAttempt(command: Extract<DeliveryCommand, { type: "RecordAttempt" }>, attempt: number): DeliveryEvent[] {
  const { deliveryId, report, now } = command;
  const { result } = report;
  const attempted: DeliveryAttempted = {
    type: "DeliveryAttempted",
    data: {
      deliveryId,
      attempt,
      startedAt: report.startedAt,
      durationMs: report.durationMs,
      url: report.url,
      ...(result.kind === "response" ? { status: result.status } : { errorClass: result.errorClass }),
      ...(result.kind === "response" && result.retryAfter !== undefined ? { retryAfter: result.retryAfter } : {}),
      ...(report.responseBody ? { responseBody: truncateUtf8(report.responseBody, RESPONSE_BODY_LIMIT_BYTES) } : {}),
    },
  };
  const decision = decideRetry({
    result,
    attempt,
    retries: command.retries,
    now,
    schedule: command.schedule,
    random: command.random,
  });
  switch (decision.kind) {
    case "delivered":
      return [attempted, { type: "DeliverySucceeded", data: { deliveryId, attempt, at: now } }];
    case "retry":
      return [
        attempted,
        { type: "DeliveryRetryScheduled", data: { deliveryId, attempt: attempt + 1, dueAt: decision.dueAt } },
      ];
    case "give_up":
      return [
        attempted,
        { type: "DeliveryFailed", data: { deliveryId, reason: decision.reason, attempts: attempt, at: now } },
      ];
  }
}

/** Cuts text to at most `limit` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, limit: number): string {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= limit) return text;
  // Decoding a cut sequence yields U+FFFD at the end; drop it.
  return bytes
    .subarray(0, limit)
    .toString("utf8")
    .replace(/\uFFFD+$/, "");
}
