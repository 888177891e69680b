import type { FastifyRequest } from "fastify";
import { staticKeyMatches } from "../../adapters/auth/static-key.js";
import { tenantKeyRole, verifyTenantToken } from "../../adapters/auth/tenant-token.js";
import type { Position } from "../../adapters/eventstore/event-store.js";
import { parsePosition } from "../../adapters/eventstore/position.js";
import { mayWaitOn, type TenantScope, type WaypointWait } from "../../domain/waypoint-matching.js";

/**
 * A refused SSE request: answered with JSON before any stream opens. The body has FastAPI's
 * `detail`, as acapy-cloud answers, and herald's stable `code` beside it.
 */
export class WaypointRequestError extends Error {
  constructor(
    readonly statusCode: 401 | 403 | 422,
    readonly code: "TENANT_KEY_REFUSED" | "FORBIDDEN_WALLET" | "INVALID_LOOK_BACK",
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "WaypointRequestError";
  }

  toJSON(): Record<string, unknown> {
    return { detail: this.message, code: this.code, ...this.details };
  }
}

export interface WaypointRequest {
  readonly wait: WaypointWait;
  readonly scope: TenantScope;
  /** 0: live events only. */
  readonly lookBackS: number;
  /** The id of a match this client already received (EventSource resends it on reconnect). */
  readonly lastEventId: Position | undefined;
}

export interface WaypointRequestRules {
  /** Undefined: tenant and tenant-admin tokens are refused. */
  readonly tenantJwtSecret: string | undefined;
  /** Undefined: `tenant-admin.<static key>` is refused. */
  readonly tenantAdminApiKey: string | undefined;
  readonly maxLookBackS: number;
  /** Asked only for a tenant-admin token: a tenant's permission does not depend on the wallet's group. */
  readonly groupOfWallet: (walletId: string) => Promise<string | undefined>;
}

export type WaypointParams = Record<"wallet_id" | "topic" | "field" | "field_id" | "desired_state", string>;

const DEFAULT_LOOK_BACK_S = 60;

/** Checks the key, then the path and query; throws WaypointRequestError. */
export async function parseWaypointRequest(
  request: FastifyRequest<{ Params: WaypointParams }>,
  rules: WaypointRequestRules,
): Promise<WaypointRequest> {
  const scope = tenantScope(request.headers["x-api-key"], rules);
  const { wallet_id: walletId, topic, field, field_id: fieldId, desired_state: desiredState } = request.params;
  const query = request.query as Record<string, unknown>;
  // As in FastAPI, the query is checked before the handler checks the wallet.
  const lookBackS = lookBack(lastValue(query.look_back), rules.maxLookBackS);
  const knownGroup = scope.kind === "tenant-admin" ? await rules.groupOfWallet(walletId) : undefined;
  const permission = mayWaitOn(scope, walletId, knownGroup);
  if (!permission.ok) {
    throw new WaypointRequestError(
      403,
      "FORBIDDEN_WALLET",
      permission.reason === "foreign-wallet"
        ? "this key may only wait on its own wallet"
        : "this wallet belongs to another group",
    );
  }
  const groupId = lastValue(query.group_id);
  const lastEventIdHeader = request.headers["last-event-id"];
  return {
    wait: {
      walletId,
      topic,
      field,
      fieldId,
      desiredState,
      ...(typeof groupId === "string" && groupId !== "" ? { groupId } : {}),
    },
    scope,
    lookBackS,
    lastEventId: typeof lastEventIdHeader === "string" ? parsePosition(lastEventIdHeader.trim()) : undefined,
  };
}

function tenantScope(header: string | string[] | undefined, rules: WaypointRequestRules): TenantScope {
  const apiKey = typeof header === "string" ? header : undefined;
  if (!apiKey)
    throw new WaypointRequestError(
      403,
      "TENANT_KEY_REFUSED",
      "Not authenticated: send x-api-key: tenant.<jwt> or tenant-admin.<key>",
      { reason: "missing" },
    );
  const role = tenantKeyRole(apiKey);
  if (role === undefined) {
    throw new WaypointRequestError(
      401,
      "TENANT_KEY_REFUSED",
      "x-api-key names no role: tenant.<jwt> or tenant-admin.<key>",
      { reason: "unknown-role" },
    );
  }
  if (
    role === "tenant-admin" &&
    rules.tenantAdminApiKey !== undefined &&
    staticKeyMatches(apiKey.slice(role.length + 1), rules.tenantAdminApiKey)
  ) {
    return { kind: "tenant-admin-key" };
  }
  if (!rules.tenantJwtSecret) {
    throw new WaypointRequestError(
      403,
      "TENANT_KEY_REFUSED",
      "tenant tokens are not configured on this server (HERALD_TENANT_JWT_SECRET)",
      { reason: "not-configured" },
    );
  }
  const check = verifyTenantToken(rules.tenantJwtSecret, apiKey);
  if (check.ok) return check.scope;
  const why = {
    missing: "Not authenticated",
    "unknown-role": "x-api-key names no role",
    malformed: "x-api-key is not a tenant key",
    "bad-signature": "x-api-key is not a valid tenant key",
    expired: "x-api-key has expired",
    "not-yet-valid": "x-api-key is not valid yet",
    "missing-claim": "x-api-key lacks its wallet_id or group_id claim",
  }[check.problem];
  throw new WaypointRequestError(403, "TENANT_KEY_REFUSED", why, { reason: check.problem });
}

/** A repeated query parameter counts by its last value, as in FastAPI. */
function lastValue(raw: unknown): unknown {
  return Array.isArray(raw) ? raw.at(-1) : raw;
}

/**
 * Whole seconds, as acapy-cloud takes them: absent or 0 is the default (acapy-cloud forwards only a
 * non-zero value), more than the maximum is the maximum. A negative value is herald's way to ask for
 * live events only (acapy-cloud would start its replay in the future, which also finds none).
 */
function lookBack(raw: unknown, maxS: number): number {
  const defaultS = Math.min(DEFAULT_LOOK_BACK_S, maxS);
  if (raw === undefined) return defaultS;
  const text = typeof raw === "string" ? raw.trim() : "";
  if (!/^[+-]?\d+$/.test(text)) {
    throw new WaypointRequestError(422, "INVALID_LOOK_BACK", "look_back must be a whole number of seconds", {
      detail: [
        {
          type: "int_parsing",
          loc: ["query", "look_back"],
          msg: "Input should be a valid integer, unable to parse string as an integer",
          input: raw,
        },
      ],
      max_look_back: maxS,
    });
  }
  const seconds = Number(text);
  if (seconds === 0) return defaultS;
  return seconds < 0 ? 0 : Math.min(seconds, maxS);
}
