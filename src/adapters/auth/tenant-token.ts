import { createHmac, timingSafeEqual } from "node:crypto";
import type { TenantScope } from "../../domain/waypoint-matching.js";

/**
 * Tenant keys for Waypoint SSE, sent as `x-api-key`: `tenant.<jwt>` (claim `wallet_id`, optional
 * `group_id`) or `tenant-admin.<jwt>` (claim `group_id`). The JWT is HS256 under
 * HERALD_TENANT_JWT_SECRET; `exp` and `nbf` are honoured when present. Only HS256 is accepted, so a
 * token cannot pick its own algorithm (`none`, or an asymmetric one keyed with our secret).
 */

export type TenantTokenProblem =
  | "missing"
  | "unknown-role"
  | "malformed"
  | "bad-signature"
  | "expired"
  | "not-yet-valid"
  | "missing-claim";

/** acapy-cloud's roles, the prefix before the key's first dot; herald accepts no governance key. */
export type TenantKeyRole = "tenant" | "tenant-admin" | "governance";

/** The key's role prefix; undefined when it has no dot or names no role (acapy-cloud answers 401 to both). */
export function tenantKeyRole(apiKey: string): TenantKeyRole | undefined {
  const dot = apiKey.indexOf(".");
  const role = apiKey.slice(0, dot);
  return dot > 0 && (role === "tenant" || role === "tenant-admin" || role === "governance") ? role : undefined;
}

/** The scopes a tenant JWT carries (the static tenant-admin key is no token). */
export type TenantTokenScope = Exclude<TenantScope, { readonly kind: "tenant-admin-key" }>;

export type TenantTokenCheck =
  | { readonly ok: true; readonly scope: TenantTokenScope }
  | { readonly ok: false; readonly problem: TenantTokenProblem };

const HEADER = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));

export interface TenantTokenOptions {
  /** Lifetime in seconds; undefined: no `exp`. */
  readonly ttlS?: number;
  /** Seconds since the epoch, for tests. */
  readonly nowS?: number;
}

/** Makes the `x-api-key` value for a scope. */
export function createTenantToken(secret: string, scope: TenantTokenScope, options: TenantTokenOptions = {}): string {
  const iat = options.nowS ?? Math.floor(Date.now() / 1000);
  const claims =
    scope.kind === "tenant"
      ? { wallet_id: scope.walletId, ...(scope.groupId === undefined ? {} : { group_id: scope.groupId }) }
      : { group_id: scope.groupId };
  const body = base64url(
    JSON.stringify({ ...claims, iat, ...(options.ttlS === undefined ? {} : { exp: iat + options.ttlS }) }),
  );
  return `${scope.kind}.${HEADER}.${body}.${sign(secret, `${HEADER}.${body}`)}`;
}

/** Checks an `x-api-key` value; never throws, and the result never repeats the token. */
export function verifyTenantToken(
  secret: string,
  apiKey: string | undefined,
  nowS = Math.floor(Date.now() / 1000),
): TenantTokenCheck {
  if (!apiKey) return { ok: false, problem: "missing" };
  const kind = tenantKeyRole(apiKey);
  if (kind === undefined) return { ok: false, problem: "unknown-role" };
  if (kind === "governance") return { ok: false, problem: "malformed" };
  const parts = apiKey.slice(kind.length + 1).split(".");
  if (parts.length !== 3) return { ok: false, problem: "malformed" };
  const [header, body, signature] = parts as [string, string, string];

  const headerJson = decodeJsonObject(header);
  if (headerJson?.alg !== "HS256") return { ok: false, problem: "malformed" };
  // Compared as text, not decoded bytes: base64url decoding forgives stray bits, text does not.
  const given = Buffer.from(signature);
  const expected = Buffer.from(sign(secret, `${header}.${body}`));
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, problem: "bad-signature" };

  const claims = decodeJsonObject(body);
  if (!claims) return { ok: false, problem: "malformed" };
  if (claims.exp !== undefined && (typeof claims.exp !== "number" || nowS >= claims.exp))
    return { ok: false, problem: "expired" };
  if (claims.nbf !== undefined && (typeof claims.nbf !== "number" || nowS < claims.nbf))
    return { ok: false, problem: "not-yet-valid" };

  const groupId = nonEmptyString(claims.group_id);
  if (kind === "tenant-admin")
    return groupId === undefined ? { ok: false, problem: "missing-claim" } : { ok: true, scope: { kind, groupId } };
  const walletId = nonEmptyString(claims.wallet_id);
  if (walletId === undefined) return { ok: false, problem: "missing-claim" };
  return { ok: true, scope: { kind, walletId, ...(groupId === undefined ? {} : { groupId }) } };
}

function sign(secret: string, input: string): string {
  return createHmac("sha256", secret).update(input).digest("base64url");
}

function base64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

function decodeJsonObject(part: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}
