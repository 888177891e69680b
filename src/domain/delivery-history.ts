import type { DeliveryAttempted, DeliveryEvent, DeliveryFailureReason } from "./delivery.js";
import { parsedTransaction, type Transaction, type TransactionBody, transactionBody } from "./ingest-events.js";

/**
 * One delivery's history as an auditor reads it: what was delivered, every attempt with what it saw
 * and when the next one was due, and how it ended. A fold of the delivery stream, shared by the
 * delivery history read model and `npx herald history`, so both tell the same story.
 */
/** One attempt as DeliveryAttempted recorded it, numbered, with when the next one was due. */
export type AttemptHistory = Omit<DeliveryAttempted["data"], "deliveryId" | "attempt"> & {
  /** From 1. */
  readonly number: number;
  /** When the next attempt was due after this one; absent when this attempt was the last. */
  readonly nextAttemptAt?: number;
};

export type DeliveryHistoryStatus = "pending" | "paused" | "succeeded" | "failed";

/**
 * The body is kept once, as DeliveryScheduled carries it (see TransactionBody); histories folded
 * before keep both. Readers take the object from parsedTransaction, or the whole from withTransaction.
 */
export interface DeliveryHistory extends TransactionBody {
  readonly deliveryId: string;
  readonly webhookId: string;
  readonly transactionId: string;
  readonly scheduledAt: number;
  readonly status: DeliveryHistoryStatus;
  readonly attempts: readonly AttemptHistory[];
  /** When the next attempt is due while pending. */
  readonly nextAttemptAt?: number;
  /** When it succeeded or failed for good. */
  readonly finishedAt?: number;
  readonly failureReason?: DeliveryFailureReason;
}

/** Undefined until DeliveryScheduled, which every delivery stream opens with. */
export function evolveDeliveryHistory(
  history: DeliveryHistory | undefined,
  event: DeliveryEvent,
): DeliveryHistory | undefined {
  if (event.type === "DeliveryScheduled") {
    const { deliveryId, webhookId, transactionId, scheduledAt } = event.data;
    return {
      deliveryId,
      webhookId,
      transactionId,
      ...transactionBody(event.data),
      scheduledAt,
      status: "pending",
      attempts: [],
      nextAttemptAt: scheduledAt,
    };
  }
  if (!history) return history;
  switch (event.type) {
    case "DeliveryAttempted": {
      const { deliveryId: _deliveryId, attempt, ...seen } = event.data;
      const { nextAttemptAt: _due, ...rest } = history;
      return { ...rest, attempts: [...history.attempts, { number: attempt, ...seen }] };
    }
    case "DeliveryRetryScheduled":
    case "DeliveryResumed":
      return {
        ...history,
        status: "pending",
        nextAttemptAt: event.data.dueAt,
        attempts: withNextAttempt(history.attempts, event.data.dueAt),
      };
    case "DeliveryRedeliveryRequested": {
      const { finishedAt: _finished, ...open } = finished(history);
      return {
        ...open,
        status: "pending",
        nextAttemptAt: event.data.dueAt,
        attempts: withNextAttempt(history.attempts, event.data.dueAt),
      };
    }
    case "DeliveryPaused": {
      const { nextAttemptAt: _due, ...rest } = history;
      return { ...rest, status: "paused" };
    }
    case "DeliverySucceeded":
      return { ...finished(history), status: "succeeded", finishedAt: event.data.at };
    case "DeliveryFailed":
      return { ...finished(history), status: "failed", finishedAt: event.data.at, failureReason: event.data.reason };
  }
}

function finished(history: DeliveryHistory): DeliveryHistory {
  const { nextAttemptAt: _due, failureReason: _reason, ...rest } = history;
  return rest;
}

/** The last attempt learns when the one after it is due. */
function withNextAttempt(attempts: readonly AttemptHistory[], dueAt: number): readonly AttemptHistory[] {
  const last = attempts.at(-1);
  return last ? [...attempts.slice(0, -1), { ...last, nextAttemptAt: dueAt }] : attempts;
}

/**
 * The history as it read when it kept the transaction beside its text (`herald history --json`):
 * the same JSON, key order included, whichever way the body was kept.
 */
export function withTransaction(history: DeliveryHistory): DeliveryHistory & { readonly transaction: Transaction } {
  const { deliveryId, webhookId, transactionId, transaction: _parsed, publishedText, ...rest } = history;
  const text = publishedText === undefined ? {} : { publishedText };
  return { deliveryId, webhookId, transactionId, transaction: parsedTransaction(history), ...text, ...rest };
}
