import { type Caller, canChange, canRead } from "./caller.js";
import type { Refusal } from "./decision.js";
import type { WebhookEndpointState } from "./webhook-endpoint.js";

/**
 * Who may ask for failed deliveries to be attempted again: whoever may change the endpoint (its
 * owner, admins). Auditors read and never act; anyone else does not learn that it exists.
 */
export function mayRecoverDeliveries(caller: Caller, webhookId: string, endpoint: WebhookEndpointState): Refusal | undefined {
  if (!endpoint || !canRead(caller, endpoint.subscriber)) return { code: "NOT_FOUND", message: `webhook endpoint ${webhookId} not found` };
  if (!canChange(caller, endpoint.subscriber)) return { code: "FORBIDDEN", message: `not allowed to redeliver to webhook endpoint ${webhookId}` };
  // Its deliveries would only be cancelled again.
  if (endpoint.deleted) return { code: "CONFLICT", message: `webhook endpoint ${webhookId} is deleted` };
  return undefined;
}
