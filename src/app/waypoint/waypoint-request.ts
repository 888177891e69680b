import type { FastifyRequest } from "fastify";
import { verifyTenantToken } from "../../adapters/auth/tenant-token.js";
import { parsePosition } from "../../adapters/eventstore/position.js";
import type { Position } from "../../adapters/eventstore/event-store.js";
import { WAYPOINT_TOPICS, type TenantScope, type WaypointWait, isWaypointTopic, mayWaitOn } from "../../domain/waypoint-matching.js";

/** A refused SSE request: answered with JSON before any stream opens. Codes are stable. */
export class WaypointRequestError extends Error {
  constructor(
    readonly statusCode: 400 | 403 | 422,
    readonly code: "TENANT_KEY_REFUSED" | "FORBIDDEN_WALLET" | "UNKNOWN_TOPIC" | "INVALID_LOOK_BACK",
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "WaypointRequestError";
  }

  toJSON(): Record<string, unknown> {
    return { error: this.message, code: this.code, ...this.details };
  }
}

export interface WaypointRequest {
  readonly wait: WaypointWait;
  readonly scope: TenantScope;
  readonly lookBackS: number;
  /** The id of a match this client already received (EventSource resends it on reconnect). */
  readonly lastEventId: Position | undefined;
}

export interface WaypointRequestRules {
  /** Undefined: SSE is off and every request is refused. */
  readonly tenantJwtSecret: string | undefined;
  readonly maxLookBackS: number;
  /** Asked only for a tenant-admin key: a tenant's permission does not depend on the wallet's group. */
  readonly groupOfWallet: (walletId: string) => Promise<string | undefined>;
}

export type WaypointParams = Record<"wallet_id" | "topic" | "field" | "field_id" | "desired_state", string>;

const DEFAULT_LOOK_BACK_S = 60;

/** Checks the key, then the path and query; throws WaypointRequestError. */
export async function parseWaypointRequest(request: FastifyRequest<{ Params: WaypointParams }>, rules: WaypointRequestRules): Promise<WaypointRequest> {
  const scope = tenantScope(request.headers["x-api-key"], rules.tenantJwtSecret);
  const { wallet_id: walletId, topic, field, field_id: fieldId, desired_state: desiredState } = request.params;
  if (!isWaypointTopic(topic)) {
    throw new WaypointRequestError(422, "UNKNOWN_TOPIC", `unknown topic "${topic}"`, { topics: WAYPOINT_TOPICS });
  }
  const knownGroup = scope.kind === "tenant-admin" ? await rules.groupOfWallet(walletId) : undefined;
  const permission = mayWaitOn(scope, walletId, knownGroup);
  if (!permission.ok) {
    throw new WaypointRequestError(
      403,
      "FORBIDDEN_WALLET",
      permission.reason === "foreign-wallet" ? "this key may only wait on its own wallet" : "this wallet belongs to another group",
    );
  }
  const lastEventIdHeader = request.headers["last-event-id"];
  return {
    wait: { walletId, topic, field, fieldId, desiredState },
    scope,
    lookBackS: lookBack((request.query as Record<string, unknown>).look_back, rules.maxLookBackS),
    lastEventId: typeof lastEventIdHeader === "string" ? parsePosition(lastEventIdHeader.trim()) : undefined,
  };
}

function tenantScope(apiKey: string | string[] | undefined, secret: string | undefined): TenantScope {
  if (!secret) throw new WaypointRequestError(403, "TENANT_KEY_REFUSED", "tenant keys are not configured on this server (HERALD_TENANT_JWT_SECRET)");
  const check = verifyTenantToken(secret, typeof apiKey === "string" ? apiKey : undefined);
  if (check.ok) return check.scope;
  const why = {
    missing: "send x-api-key: tenant.<jwt> or tenant-admin.<jwt>",
    malformed: "x-api-key is not a tenant key",
    "bad-signature": "x-api-key is not a valid tenant key",
    expired: "x-api-key has expired",
    "not-yet-valid": "x-api-key is not valid yet",
    "missing-claim": "x-api-key lacks its wallet_id or group_id claim",
  }[check.problem];
  throw new WaypointRequestError(403, "TENANT_KEY_REFUSED", why, { reason: check.problem });
}

function lookBack(raw: unknown, maxS: number): number {
  if (raw === undefined) return Math.min(DEFAULT_LOOK_BACK_S, maxS);
  if (typeof raw !== "string" || !/^\d{1,9}$/.test(raw) || Number(raw) > maxS) {
    throw new WaypointRequestError(422, "INVALID_LOOK_BACK", `look_back must be whole seconds from 0 to ${maxS}`, { max_look_back: maxS });
  }
  return Number(raw);
}
