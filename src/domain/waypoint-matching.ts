import type { TenantEvent } from "./ingest-events.js";

/**
 * Waypoint: a tenant waits for one event it knows is coming (README.md, "Waypoint").
 * This file holds the rules only: what a wait asks for, which event answers it and who may ask. The
 * matcher and the HTTP route apply them. Any topic is a wait, as in acapy-cloud: its pipelines
 * publish topics the documentation does not list (`basic-message`, `deleted_credential`, …), and a
 * topic that never occurs is a wait that times out.
 */

/** What one SSE request waits for: the path's five segments, and acapy-cloud's hidden `?group_id=`. */
export interface WaypointWait {
  readonly walletId: string;
  readonly topic: string;
  /** A payload field; dots reach into nested objects (`connection.id`). */
  readonly field: string;
  readonly fieldId: string;
  readonly desiredState: string;
  /** Only an event of this group answers (a wrong group is a wait that never matches). */
  readonly groupId?: string;
}

/**
 * Who is asking, from the tenant key: a tenant its wallet, a tenant-admin token its group, the
 * static tenant-admin key (acapy-cloud's `tenant-admin.<admin API key>`) every wallet.
 */
export type TenantScope =
  | { readonly kind: "tenant"; readonly walletId: string; readonly groupId?: string }
  | { readonly kind: "tenant-admin"; readonly groupId: string }
  | { readonly kind: "tenant-admin-key" };

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
      if (typeof value !== "object" || value === null || Array.isArray(value) || !Object.hasOwn(value, part))
        return undefined;
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

/**
 * The match rule: that wallet and topic, `payload[field]` equal to `fieldId`, `payload.state` the
 * desired one, and the group when the wait names one.
 */
export function eventAnswersWait(event: TenantEvent, wait: WaypointWait): boolean {
  return (
    event.wallet_id === wait.walletId &&
    event.topic === wait.topic &&
    event.payload.state === wait.desiredState &&
    inWaitedGroup(event, wait) &&
    payloadFieldText(event.payload, wait.field) === wait.fieldId
  );
}

/** True when the wait names no group or the event's group is the one named. */
export function inWaitedGroup(event: TenantEvent, wait: WaypointWait): boolean {
  return wait.groupId === undefined || event.group_id === wait.groupId;
}

/** Whether the scope may see this event: a tenant its wallet's, a tenant-admin token its group's, the static key all. */
export function eventInScope(event: TenantEvent, scope: TenantScope): boolean {
  switch (scope.kind) {
    case "tenant":
      return event.wallet_id === scope.walletId;
    case "tenant-admin":
      return event.group_id === scope.groupId;
    case "tenant-admin-key":
      return true;
  }
}

export type WaitPermission =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: "foreign-wallet" | "wallet-of-another-group" };

/**
 * Whether the scope may wait on a wallet. A tenant only on its own; a tenant-admin on any wallet not
 * already known to belong to another group (an unknown wallet may still join its group, and only
 * events of its group can answer, see eventInScope).
 */
export function mayWaitOn(
  scope: TenantScope,
  walletId: string,
  knownGroupOfWallet: string | undefined,
): WaitPermission {
  if (scope.kind === "tenant")
    return scope.walletId === walletId ? { ok: true } : { ok: false, reason: "foreign-wallet" };
  if (scope.kind === "tenant-admin-key") return { ok: true };
  if (knownGroupOfWallet !== undefined && knownGroupOfWallet !== scope.groupId)
    return { ok: false, reason: "wallet-of-another-group" };
  return { ok: true };
}
