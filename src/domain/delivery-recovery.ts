import { type Caller, canChange, canRead } from "./caller.js";
import type { Decider } from "./decider.js";
import { accept, type Decision, type Refusal, refuse } from "./decision.js";
import { type DeliveryEvent, type DeliveryScheduled, type DeliveryState, deliveryDecider } from "./delivery.js";
import { deterministicId } from "./deterministic-id.js";
import { transactionBody } from "./ingest-events.js";
import type { WebhookEndpointState } from "./webhook-endpoint.js";

/**
 * Who may ask for failed deliveries to be attempted again: whoever may change the endpoint (its
 * owner, admins). Auditors read and never act; anyone else does not learn that it exists.
 */
export function mayRecoverDeliveries(
  caller: Caller,
  webhookId: string,
  endpoint: WebhookEndpointState,
): Refusal | undefined {
  if (!endpoint || !canRead(caller, endpoint.subscriber))
    return { code: "NOT_FOUND", message: `webhook endpoint ${webhookId} not found` };
  if (!canChange(caller, endpoint.subscriber))
    return { code: "FORBIDDEN", message: `not allowed to redeliver to webhook endpoint ${webhookId}` };
  // Its deliveries would only be cancelled again.
  if (endpoint.deleted) return { code: "CONFLICT", message: `webhook endpoint ${webhookId} is deleted` };
  return undefined;
}

/**
 * Recovery requests with a client idempotency key (as Stripe and Svix take them): the first request
 * with a key is recorded in a stream of its own, named after (caller, key) and created with expected
 * revision no_stream, so of two requests with one key only one is recorded; every repeat gets that
 * request's answer. Per failure, redelivery is idempotent already (only a failed delivery is taken
 * back); the key makes the request itself idempotent, also after its redelivered attempts failed again.
 */

export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
// Keys travel as HTTP header values elsewhere (Idempotency-Key): printable ASCII is what clients send.
const IDEMPOTENCY_KEY = new RegExp(`^[\\x20-\\x7e]{1,${MAX_IDEMPOTENCY_KEY_LENGTH}}$`);

export function idempotencyKeyRefusal(key: string): Refusal | undefined {
  if (IDEMPOTENCY_KEY.test(key)) return undefined;
  return {
    code: "INVALID",
    field: "idempotencyKey",
    message: `idempotencyKey must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters`,
  };
}

/** Keys are the caller's own: another caller's key of the same text is another request. */
export const recoveryId = (callerAddress: string, idempotencyKey: string): string =>
  deterministicId("herald/delivery-recovery", callerAddress, idempotencyKey);
export const recoveryStream = (id: string): string => `recovery-${id}`;

/** What was asked, compared on a repeat. Times are ms since the epoch, so equal instants in other notations match. */
export type RecoveryRequest =
  | { readonly mutation: "redeliver"; readonly webhookId: string; readonly deliveryId: string }
  | {
      readonly mutation: "recoverDeliveries";
      readonly webhookId: string;
      readonly since?: number;
      readonly until?: number;
    };

/** A failed delivery, with the revision of its stream's last event when it was seen failed. */
export interface FailedDelivery {
  readonly deliveryId: string;
  readonly revision: number;
}

export interface DeliveryRecoveryRequested {
  readonly type: "DeliveryRecoveryRequested";
  readonly data: {
    readonly recoveryId: string;
    readonly idempotencyKey: string;
    readonly request: RecoveryRequest;
    /** The answer: the failed deliveries this request takes back. */
    readonly deliveries: readonly FailedDelivery[];
  };
}

export const RECOVERY_EVENT_TYPES = [
  "DeliveryRecoveryRequested",
] as const satisfies readonly DeliveryRecoveryRequested["type"][];

/** Undefined until the request is recorded. */
export type RecoveryState = DeliveryRecoveryRequested["data"] | undefined;

export interface RequestRecovery {
  readonly type: "RequestRecovery";
  readonly recoveryId: string;
  readonly idempotencyKey: string;
  readonly request: RecoveryRequest;
  /** The failed deliveries found now; they become the answer when the key is new. */
  readonly failed: readonly FailedDelivery[];
}

/** A new key records the request; a repeat of it decides nothing (its answer is the one recorded). */
function decideRecovery(command: RequestRecovery, state: RecoveryState): Decision<DeliveryRecoveryRequested> {
  const { recoveryId, idempotencyKey, request, failed } = command;
  if (!state)
    return accept({
      type: "DeliveryRecoveryRequested",
      data: { recoveryId, idempotencyKey, request, deliveries: failed },
    });
  if (sameRequest(state.request, request)) return accept();
  return refuse({
    code: "CONFLICT",
    message: "this idempotencyKey was used for another request; use a new key for a new request",
  });
}

/** The recovery request aggregate (stream `recovery-<recoveryId>`): one request per caller and key. */
export const recoveryDecider: Decider<RequestRecovery, DeliveryRecoveryRequested, RecoveryState> = {
  decide: decideRecovery,
  evolve: (_state, event) => event.data,
  initialState: undefined,
};

function sameRequest(a: RecoveryRequest, b: RecoveryRequest): boolean {
  switch (a.mutation) {
    case "redeliver":
      return b.mutation === "redeliver" && a.deliveryId === b.deliveryId;
    case "recoverDeliveries":
      return (
        b.mutation === "recoverDeliveries" && a.webhookId === b.webhookId && a.since === b.since && a.until === b.until
      );
  }
}

/** A delivery stream as a recovery request reads it: the delivery, what a redelivery carries, and where the stream stands. */
export interface DeliveryAtRevision {
  readonly delivery: DeliveryState;
  readonly scheduled?: DeliveryScheduled["data"];
  /** Of the stream's last event; -1 when there is none. Revisions count from 0 in every stream. */
  readonly revision: number;
}

export const noDeliveryYet: DeliveryAtRevision = { delivery: deliveryDecider.initialState, revision: -1 };

export function evolveDeliveryAtRevision(current: DeliveryAtRevision, event: DeliveryEvent): DeliveryAtRevision {
  return {
    delivery: deliveryDecider.evolve(current.delivery, event),
    scheduled: event.type === "DeliveryScheduled" ? event.data : current.scheduled,
    revision: current.revision + 1,
  };
}

export function failedDelivery(deliveryId: string, current: DeliveryAtRevision): FailedDelivery | undefined {
  return current.delivery.status === "failed" ? { deliveryId, revision: current.revision } : undefined;
}

/** A delivery that a recorded request named, to be taken back as the request saw it. */
export interface RedeliverRecorded {
  readonly type: "RedeliverRecorded";
  readonly recorded: FailedDelivery;
  readonly now: number;
}

/**
 * Takes back a delivery that a recorded request named, only while its stream still stands at the
 * revision where the request saw it failed. A failed delivery's stream moves only when someone takes
 * it back, so a stream that moved on was taken back already: by this request (a repeat, or a repeat
 * finishing a request cut short by a crash) or by another one racing it. Either way, nothing to send.
 */
function decideRecordedRedelivery(command: RedeliverRecorded, current: DeliveryAtRevision): Decision<DeliveryEvent> {
  if (current.revision !== command.recorded.revision || !current.scheduled) return accept();
  const { deliveryId, webhookId } = current.scheduled;
  return deliveryDecider.decide(
    { type: "Redeliver", deliveryId, webhookId, ...transactionBody(current.scheduled), now: command.now },
    current.delivery,
  );
}

/** The delivery stream as recovery decides on it: the delivery aggregate, with its revision and what it scheduled. */
export const recordedRedeliveryDecider: Decider<RedeliverRecorded, DeliveryEvent, DeliveryAtRevision> = {
  decide: decideRecordedRedelivery,
  evolve: evolveDeliveryAtRevision,
  initialState: noDeliveryYet,
};
