import type { TenantEvent } from "./ingest-events.js";

/**
 * Waypoint: a tenant waits for one event it knows is coming (see shared/seeds/waypoint-sse.txt).
 * This file holds the rules only: which topics exist, what a wait asks for, which event answers it
 * and who may ask. The matcher and the HTTP route apply them.
 */

/** The seed's topics, in its order. */
export const WAYPOINT_TOPICS = [
  "basic-messages",
  "connections",
  "credentials",
  "credentials_indy",
  "credentials_ld",
  "endorsements",
  "issuer_cred_rev",
  "oob",
  "problem_report",
  "proofs",
  "revocation",
] as const;

export type WaypointTopic = (typeof WAYPOINT_TOPICS)[number];

export function isWaypointTopic(topic: string): topic is WaypointTopic {
  return (WAYPOINT_TOPICS as readonly string[]).includes(topic);
}

/** What one SSE request waits for: the path's five segments. */
export interface WaypointWait {
  readonly walletId: string;
  readonly topic: WaypointTopic;
  /** A payload field; dots reach into nested objects (`connection.id`). */
  readonly field: string;
  readonly fieldId: string;
  readonly desiredState: string;
}

/** Who is asking, from the tenant key. */
export type TenantScope =
  | { readonly kind: "tenant"; readonly walletId: string; readonly groupId?: string }
  | { readonly kind: "tenant-admin"; readonly groupId: string };

/**
 * Waiters are indexed by this key, which an event yields without knowing any waiter: the event's
 * wallet, topic and state. The field and its value are looked up inside the key's bucket.
 */
export function waitKey(walletId: string, topic: string, state: string): string {
  // JSON keeps the parts apart whatever characters they contain.
  return JSON.stringify([walletId, topic, state]);
}

export function waitKeyOfWait(wait: WaypointWait): string {
  return waitKey(wait.walletId, wait.topic, wait.desiredState);
}

/** Undefined when the event has no string state and so can answer no wait. */
export function waitKeyOfEvent(event: TenantEvent): string | undefined {
  const state = event.payload.state;
  return typeof state === "string" ? waitKey(event.wallet_id, event.topic, state) : undefined;
}

/**
 * The string form of `payload[field]`, where a dotted field walks nested objects. A field whose
 * literal name contains dots is found too. Numbers and booleans compare by their string form;
 * objects, arrays, null and missing values compare as nothing.
 */
export function payloadFieldText(payload: Readonly<Record<string, unknown>>, field: string): string | undefined {
  let value: unknown = Object.hasOwn(payload, field) ? payload[field] : undefined;
  if (value === undefined && field.includes(".")) {
    value = payload;
    for (const part of field.split(".")) {
      if (typeof value !== "object" || value === null || Array.isArray(value) || !Object.hasOwn(value, part)) return undefined;
      value = (value as Record<string, unknown>)[part];
    }
  }
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "boolean":
    case "bigint":
      return String(value);
    default:
      return undefined;
  }
}

/** The match rule: that wallet and topic, `payload[field]` equal to `fieldId`, `payload.state` the desired one. */
export function eventAnswersWait(event: TenantEvent, wait: WaypointWait): boolean {
  return (
    event.wallet_id === wait.walletId &&
    event.topic === wait.topic &&
    event.payload.state === wait.desiredState &&
    payloadFieldText(event.payload, wait.field) === wait.fieldId
  );
}

/** Whether the scope may see this event: a tenant its wallet's, a tenant-admin its group's. */
export function eventInScope(event: TenantEvent, scope: TenantScope): boolean {
  return scope.kind === "tenant" ? event.wallet_id === scope.walletId : event.group_id === scope.groupId;
}

export type WaitPermission =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: "foreign-wallet" | "wallet-of-another-group" };

/**
 * Whether the scope may wait on a wallet. A tenant only on its own; a tenant-admin on any wallet not
 * already known to belong to another group (an unknown wallet may still join its group, and only
 * events of its group can answer, see eventInScope).
 */
export function mayWaitOn(scope: TenantScope, walletId: string, knownGroupOfWallet: string | undefined): WaitPermission {
  if (scope.kind === "tenant") return scope.walletId === walletId ? { ok: true } : { ok: false, reason: "foreign-wallet" };
  if (knownGroupOfWallet !== undefined && knownGroupOfWallet !== scope.groupId) return { ok: false, reason: "wallet-of-another-group" };
  return { ok: true };
}
