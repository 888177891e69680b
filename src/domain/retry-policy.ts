/**
 * What happens after one delivery attempt, exactly as the Asset Register's webhook API documents its
 * retries (README.md, "Webhook delivery"): 2xx is delivered; 409, 429, 5xx, timeouts and connection
 * errors are retried while attempts ≤ retries + 1; any other status fails for good. A Retry-After
 * (seconds or HTTP date) makes the next attempt wait the longer of it and our schedule; a negative
 * one stops retries; one that cannot be parsed is ignored.
 */

/** Why an attempt got no HTTP response. */
export type AttemptErrorClass = "timeout" | "connection" | "forbidden_address";

export type AttemptResult =
  | { readonly kind: "response"; readonly status: number; readonly retryAfter?: string }
  | { readonly kind: "error"; readonly errorClass: AttemptErrorClass };

export type GiveUpReason = "not_retryable" | "retries_exhausted" | "negative_retry_after";

export type RetryDecision =
  | { readonly kind: "delivered" }
  | { readonly kind: "retry"; readonly dueAt: number; readonly delayMs: number }
  | { readonly kind: "give_up"; readonly reason: GiveUpReason };

export interface RetrySchedule {
  /** HERALD_RETRY_BASE_MS: the wait before retry 1. */
  readonly baseMs: number;
  /** HERALD_RETRY_MAX_MS: no scheduled wait (before jitter) exceeds it. */
  readonly maxMs: number;
}

export interface RetryInput {
  readonly result: AttemptResult;
  /** The number of the attempt that just ended, from 1. */
  readonly attempt: number;
  /** The endpoint's retries: at most retries + 1 attempts. */
  readonly retries: number;
  /** Milliseconds since the epoch when the attempt ended. */
  readonly now: number;
  readonly schedule: RetrySchedule;
  /** A number in [0, 1): the jitter. */
  readonly random: number;
}

const JITTER = 0.1;
/**
 * A Retry-After further out than this is honoured only up to it: the due time must stay a valid date
 * and a delivery must not vanish into the far future because of one header.
 */
export const RETRY_AFTER_CEILING_MS = 365 * 24 * 3600 * 1000;

export function decideRetry(input: RetryInput): RetryDecision {
  const { result } = input;
  if (result.kind === "response") {
    if (result.status >= 200 && result.status < 300) return { kind: "delivered" };
    if (!isRetryableStatus(result.status)) return { kind: "give_up", reason: "not_retryable" };
  }
  const retryAfter =
    result.kind === "response" ? parseRetryAfter(result.retryAfter, input.now) : { kind: "absent" as const };
  if (retryAfter.kind === "negative") return { kind: "give_up", reason: "negative_retry_after" };
  if (input.attempt >= input.retries + 1) return { kind: "give_up", reason: "retries_exhausted" };
  const scheduled = scheduledDelayMs(input.attempt, input.schedule);
  const jitter = Math.floor(scheduled * JITTER * input.random);
  const delayMs = Math.max(scheduled + jitter, retryAfter.kind === "wait" ? retryAfter.ms : 0);
  return { kind: "retry", dueAt: input.now + delayMs, delayMs };
}

/** 409 and 429 are the only 4xx retried, with every 5xx, as the Asset Register documents. */
export function isRetryableStatus(status: number): boolean {
  return status === 409 || status === 429 || (status >= 500 && status <= 599);
}

/** The wait before retry n, without jitter: base × 2^(n−1), capped at max. */
export function scheduledDelayMs(retry: number, schedule: RetrySchedule): number {
  // 2^(n-1) overflows to Infinity for large n; the cap keeps the result finite.
  return Math.min(schedule.baseMs * 2 ** Math.max(0, retry - 1), schedule.maxMs);
}

export type RetryAfter =
  | { readonly kind: "absent" }
  | { readonly kind: "negative" }
  | { readonly kind: "wait"; readonly ms: number };

const SECONDS = /^-?\d+(\.\d+)?$/;
// RFC 9110 HTTP-date: IMF-fixdate and the two obsolete forms all name a weekday and a month.
const HTTP_DATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*, ?.*\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b.*\d{2}:\d{2}:\d{2}/;

/** Seconds or an HTTP date; anything else reads as absent. A date in the past means "now". */
export function parseRetryAfter(value: string | undefined, now: number): RetryAfter {
  const text = value?.trim();
  if (!text) return { kind: "absent" };
  if (SECONDS.test(text)) {
    const seconds = Number(text);
    if (seconds < 0) return { kind: "negative" };
    return { kind: "wait", ms: Math.min(Math.ceil(seconds * 1000), RETRY_AFTER_CEILING_MS) };
  }
  if (HTTP_DATE.test(text)) {
    const at = Date.parse(text);
    if (Number.isFinite(at)) return { kind: "wait", ms: Math.min(Math.max(0, at - now), RETRY_AFTER_CEILING_MS) };
  }
  return { kind: "absent" };
}
