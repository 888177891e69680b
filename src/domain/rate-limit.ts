import { type Decision, invalid } from "./decision.js";

/**
 * An endpoint's optional rate limit: at most `rateLimit` attempts per second, spread evenly. It is a
 * generic cell rate algorithm over one number per endpoint, the theoretical arrival time (TAT): the
 * time by which every slot granted so far would have been used at exactly the limit. A burst of up
 * to a tenth of a second's worth is allowed, so that a worker can take several slots in one claim
 * at high limits; at low limits the attempts are simply spaced 1/rateLimit apart.
 *
 * Over any window of w ms an endpoint therefore sees at most burst + w × rateLimit / 1000 attempts.
 */
export const MAX_RATE_LIMIT = 10_000;
const BURST_WINDOW_MS = 100;

export interface SendSlots {
  /** How many of the wanted attempts may start now. */
  readonly granted: number;
  /** The endpoint's new TAT (ms), to store. */
  readonly theoreticalArrivalMs: number;
  /** The earliest time (ms) another attempt may start. */
  readonly nextSlotAtMs: number;
}

/** Takes up to `wanted` slots at `nowMs` from an endpoint limited to `rateLimit` attempts a second. */
export function takeSendSlots(
  rateLimit: number,
  theoreticalArrivalMs: number | undefined,
  wanted: number,
  nowMs: number,
): SendSlots {
  const intervalMs = 1000 / rateLimit;
  const burst = Math.max(1, Math.floor((rateLimit * BURST_WINDOW_MS) / 1000));
  const toleranceMs = (burst - 1) * intervalMs;
  const from = Math.max(theoreticalArrivalMs ?? nowMs, nowMs);
  const available = Math.max(0, Math.floor((nowMs + toleranceMs - from) / intervalMs + 1e-9) + 1);
  const granted = Math.min(Math.max(0, wanted), available);
  const theoreticalArrival = from + granted * intervalMs;
  return {
    granted,
    theoreticalArrivalMs: theoreticalArrival,
    nextSlotAtMs: Math.max(nowMs, theoreticalArrival - toleranceMs),
  };
}

/** A rate limit as a command gives it: a whole number of attempts per second, or none (null). */
export function checkRateLimit(
  rateLimit: number | null,
): { ok: true; value: number | null } | { ok: false; refusal: Decision<never> } {
  if (rateLimit === null || (Number.isInteger(rateLimit) && rateLimit >= 1 && rateLimit <= MAX_RATE_LIMIT))
    return { ok: true, value: rateLimit };
  return {
    ok: false,
    refusal: invalid(
      "rateLimit",
      `rateLimit must be a whole number of attempts per second from 1 to ${MAX_RATE_LIMIT}, or null for no limit`,
    ),
  };
}
