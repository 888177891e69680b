import { type Caller, canChange, canRead } from "./caller.js";
import { normalizeCollectionId } from "./collection-id.js";
import type { Decider } from "./decider.js";
import { accept, type Decision, invalid, refuse } from "./decision.js";
import { isPlainText } from "./plain-text.js";
import { type Quota, quotaRefusal } from "./quota.js";
import type { WebhookEndpointState } from "./webhook-endpoint.js";
import type { WebhookSubscriptionCreated, WebhookSubscriptionEvent } from "./webhook-events.js";

/**
 * The webhook subscription aggregate (stream `subscription-<subscriptionId>`): which transaction
 * events (type, actions, collection) go to which endpoint.
 */
export type WebhookSubscription = WebhookSubscriptionCreated["data"] & { readonly deleted: boolean };

export type WebhookSubscriptionState = WebhookSubscription | undefined;

export const MAX_TYPE_LENGTH = 64;
export const MAX_ACTIONS = 32;
export const MAX_ACTION_LENGTH = 64;

/** `caller` is who sends the command. */
export type WebhookSubscriptionCommand = (
  | {
      readonly type: "CreateWebhookSubscription";
      readonly subscriptionId: string;
      readonly webhookId: string;
      /** The subscription's `type`: the type of the transaction events it matches. */
      readonly eventType: string;
      readonly actions: readonly string[];
      readonly collectionId: string;
      readonly now: number;
      /** The endpoint's live subscriptions: whoever subscribes it, admins too, within its owner's quota. */
      readonly quota?: Quota;
      /**
       * The command's webhook endpoint, folded from its own stream: a subscription may only point at
       * an endpoint that exists and that the caller may change.
       */
      readonly endpoint: WebhookEndpointState;
    }
  | { readonly type: "DeleteWebhookSubscription"; readonly subscriptionId: string; readonly webhookId: string }
) & { readonly caller: Caller };

function decideWebhookSubscription(
  command: WebhookSubscriptionCommand,
  state: WebhookSubscriptionState,
): Decision<WebhookSubscriptionEvent> {
  const { subscriptionId, webhookId, caller } = command;
  if (command.type === "CreateWebhookSubscription") {
    const { eventType } = command;
    if (eventType.trim() === "") return invalid("type", "type must not be empty");
    if (!isPlainText(eventType)) return invalid("type", "type must not contain control characters");
    if (eventType.length > MAX_TYPE_LENGTH)
      return invalid("type", `type must be at most ${MAX_TYPE_LENGTH} characters`);
    const actions = checkActions(command.actions);
    if (actions) return actions;
    const collectionId = normalizeCollectionId(command.collectionId);
    if (!collectionId.ok) return invalid("collectionId", collectionId.reason);

    const { endpoint } = command;
    if (!endpoint || endpoint.deleted || !canRead(caller, endpoint.subscriber)) {
      return refuse({ code: "NOT_FOUND", message: `webhook endpoint ${webhookId} not found` });
    }
    if (!canChange(caller, endpoint.subscriber)) {
      return refuse({ code: "FORBIDDEN", message: `not allowed to subscribe webhook endpoint ${webhookId}` });
    }
    if (state) return refuse({ code: "CONFLICT", message: `webhook subscription ${subscriptionId} already exists` });
    const overQuota = quotaRefusal(
      command.quota,
      "webhook subscriptions per endpoint",
      "delete a subscription of this endpoint",
    );
    if (overQuota) return refuse(overQuota);
    return accept({
      type: "WebhookSubscriptionCreated",
      data: {
        subscriptionId,
        webhookId,
        // An admin subscribing someone's endpoint does so on the owner's behalf.
        subscriber: endpoint.subscriber,
        type: eventType,
        actions: command.actions,
        collectionId: collectionId.value,
        createdAt: command.now,
      },
    });
  }

  if (!state || state.deleted || state.webhookId !== webhookId || !canRead(caller, state.subscriber)) {
    return refuse({ code: "NOT_FOUND", message: `webhook subscription ${subscriptionId} not found` });
  }
  if (!canChange(caller, state.subscriber)) {
    return refuse({ code: "FORBIDDEN", message: `not allowed to delete webhook subscription ${subscriptionId}` });
  }
  return accept({ type: "WebhookSubscriptionDeleted", data: { subscriptionId, webhookId } });
}

export function evolveWebhookSubscription(
  state: WebhookSubscriptionState,
  event: WebhookSubscriptionEvent,
): WebhookSubscriptionState {
  switch (event.type) {
    case "WebhookSubscriptionCreated":
      return { ...event.data, deleted: false };
    case "WebhookSubscriptionDeleted":
      return state && { ...state, deleted: true };
  }
}

/** The webhook subscription aggregate's decider. */
export const webhookSubscriptionDecider: Decider<
  WebhookSubscriptionCommand,
  WebhookSubscriptionEvent,
  WebhookSubscriptionState
> = { decide: decideWebhookSubscription, evolve: evolveWebhookSubscription, initialState: undefined };

function checkActions(actions: readonly string[]): Decision<never> | undefined {
  if (actions.length === 0) return invalid("actions", "actions must not be empty");
  if (actions.length > MAX_ACTIONS) return invalid("actions", `at most ${MAX_ACTIONS} actions`);
  if (actions.some((action) => action.trim() === "")) return invalid("actions", "each action must be non-empty");
  if (!actions.every(isPlainText)) return invalid("actions", "actions must not contain control characters");
  if (actions.some((action) => action.length > MAX_ACTION_LENGTH)) {
    return invalid("actions", `each action must be at most ${MAX_ACTION_LENGTH} characters`);
  }
  if (new Set(actions).size !== actions.length) return invalid("actions", "actions must be unique");
  return undefined;
}
