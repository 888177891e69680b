import type { Refusal } from "./decision.js";

/**
 * How many live things of one kind a subscriber has, and may have: endpoints per subscriber,
 * subscriptions per endpoint (HERALD_MAX_ENDPOINTS_PER_SUBSCRIBER, HERALD_MAX_SUBSCRIPTIONS_PER_ENDPOINT).
 */
export interface Quota {
  readonly used: number;
  readonly limit: number;
}

/** Refuses one more when the quota is used up; `what` names the things and whose they are. */
export function quotaRefusal(quota: Quota | undefined, what: string, room: string): Refusal | undefined {
  if (!quota || quota.used < quota.limit) return undefined;
  return {
    code: "QUOTA_EXCEEDED",
    message: `at most ${quota.limit} ${what}: ${room} to make room, or ask herald's operator for a higher limit`,
  };
}
