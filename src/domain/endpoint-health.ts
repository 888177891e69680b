import type { Decider } from "./decider.js";
import { accept, type Decision } from "./decision.js";
import type { DeliveryAttempted } from "./delivery.js";
import { evolveWebhookEndpoint, type WebhookEndpointState } from "./webhook-endpoint.js";
import type { WebhookEndpointEvent } from "./webhook-events.js";

/**
 * Endpoint health: what one delivery attempt's outcome does to its endpoint. A `410 Gone` disables
 * it at once (the receiver says it is gone for good); failures with no success in between for
 * HERALD_ENDPOINT_DISABLE_AFTER_S disable it too, so herald stops spending attempts on it. Any
 * success in between ends the failing spell.
 */
export interface AttemptObservation {
  readonly outcome: "succeeded" | "failed" | "gone";
  /** When the attempt started, ms since the epoch. */
  readonly at: number;
}

export interface EndpointHealthRules {
  /** HERALD_ENDPOINT_DISABLE_AFTER_S, in ms. */
  readonly disableAfterMs: number;
}

/** Attempts made to the endpoint, in the order they were recorded. */
export interface ObserveAttempts {
  readonly type: "ObserveAttempts";
  readonly observations: readonly AttemptObservation[];
}

/**
 * Endpoint health decides on the endpoint's own stream, beside the owner's commands
 * (webhook-endpoint.ts), with the same state; its events are the endpoint's.
 */
export const endpointHealthDecider = (
  rules: EndpointHealthRules,
): Decider<ObserveAttempts, WebhookEndpointEvent, WebhookEndpointState> => ({
  decide: (command, state) => decideEndpointHealthOf(command.observations, state, rules),
  evolve: evolveWebhookEndpoint,
  initialState: undefined,
});

/**
 * Idempotent in the state: observing the same attempt again decides nothing new, so the reaction
 * that feeds this may replay attempts (a projection rebuild) without disabling anything twice.
 */
function decideEndpointHealth(
  observation: AttemptObservation,
  state: WebhookEndpointState,
  rules: EndpointHealthRules,
): Decision<WebhookEndpointEvent> {
  // Nothing to say about an endpoint that is gone or already disabled, nor about an attempt made
  // before the endpoint was last resumed (a replayed 410 must not disable it again).
  if (!state || state.deleted || state.disabledReason || observation.at < state.healthFrom) return accept();
  const { webhookId } = state;
  switch (observation.outcome) {
    case "gone":
      return accept({ type: "WebhookEndpointDisabled", data: { webhookId, reason: "gone", at: observation.at } });
    case "succeeded":
      return state.failingSince === undefined
        ? accept()
        : accept({ type: "WebhookEndpointRecovered", data: { webhookId, at: observation.at } });
    case "failed":
      if (state.failingSince === undefined)
        return accept({ type: "WebhookEndpointFailing", data: { webhookId, since: observation.at } });
      if (observation.at - state.failingSince >= rules.disableAfterMs) {
        return accept({
          type: "WebhookEndpointDisabled",
          data: { webhookId, reason: "failing_too_long", at: observation.at },
        });
      }
      return accept();
  }
}

/** What an attempt says about its endpoint: 410 means gone, 2xx succeeded, anything else failed. */
export function observeAttempt(attempt: Pick<DeliveryAttempted["data"], "status" | "startedAt">): AttemptObservation {
  const { status, startedAt: at } = attempt;
  if (status === 410) return { outcome: "gone", at };
  return { outcome: status !== undefined && status >= 200 && status < 300 ? "succeeded" : "failed", at };
}

/** Each attempt is decided on the state the ones before left. */
function decideEndpointHealthOf(
  observations: readonly AttemptObservation[],
  state: WebhookEndpointState,
  rules: EndpointHealthRules,
): Decision<WebhookEndpointEvent> {
  const events: WebhookEndpointEvent[] = [];
  let current = state;
  for (const observation of observations) {
    const decision = decideEndpointHealth(observation, current, rules);
    if (!decision.ok) return decision;
    events.push(...decision.events);
    current = decision.events.reduce(evolveWebhookEndpoint, current);
  }
  return accept(...events);
}
