import type { FastifyRequest } from "fastify";
import { describe, expect, it } from "vitest";
import { createTenantToken } from "../../../src/adapters/auth/tenant-token.js";
import {
  parseWaypointRequest,
  type WaypointParams,
  WaypointRequestError,
  type WaypointRequestRules,
} from "../../../src/app/waypoint/waypoint-request.js";

const SECRET = "request-test-secret";
const ADMIN_KEY = "request-test-admin-key";
const params: WaypointParams = {
  wallet_id: "w1",
  topic: "basic-message",
  field: "connection_id",
  field_id: "c1",
  desired_state: "received",
};
const tenantKey = createTenantToken(SECRET, { kind: "tenant", walletId: "w1" });
const rules = (overrides: Partial<WaypointRequestRules> = {}): WaypointRequestRules => ({
  tenantJwtSecret: SECRET,
  tenantAdminApiKey: ADMIN_KEY,
  maxLookBackS: 300,
  groupOfWallet: async () => undefined,
  ...overrides,
});

/** Only the parts of a request the parser reads. */
function request(
  apiKey: string | undefined,
  query: Record<string, unknown> = {},
): FastifyRequest<{ Params: WaypointParams }> {
  return { headers: apiKey === undefined ? {} : { "x-api-key": apiKey }, params, query } as unknown as FastifyRequest<{
    Params: WaypointParams;
  }>;
}

async function refusal(promise: Promise<unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof WaypointRequestError)) throw new Error(`expected a refusal, got ${String(error)}`);
  return { status: error.statusCode, body: error.toJSON() };
}

describe("parseWaypointRequest", () => {
  it("given look_back absent or 0, then the default 60 s (as acapy-cloud forwards it); above the maximum, the maximum; negative, live only", async () => {
    const lookBack = async (value?: unknown, maxLookBackS = 300) =>
      (
        await parseWaypointRequest(
          request(tenantKey, value === undefined ? {} : { look_back: value }),
          rules({ maxLookBackS }),
        )
      ).lookBackS;
    expect(await lookBack()).toBe(60);
    expect(await lookBack("0")).toBe(60);
    expect(await lookBack("-0")).toBe(60);
    expect(await lookBack("15")).toBe(15);
    expect(await lookBack("+15")).toBe(15);
    expect(await lookBack("301")).toBe(300);
    expect(await lookBack("99999999999999999999999")).toBe(300);
    expect(await lookBack("-5")).toBe(0);
    expect(await lookBack(undefined, 30)).toBe(30);
    // A repeated parameter counts by its last value, as in FastAPI.
    expect(await lookBack(["5", "7"])).toBe(7);
  });

  it("given a look_back that is not an integer, then 422 with FastAPI's int_parsing detail and herald's code", async () => {
    for (const value of ["abc", "1.5", "", "1e3", "0x10"]) {
      expect(await refusal(parseWaypointRequest(request(tenantKey, { look_back: value }), rules()))).toEqual({
        status: 422,
        body: {
          code: "INVALID_LOOK_BACK",
          detail: [
            {
              type: "int_parsing",
              loc: ["query", "look_back"],
              msg: "Input should be a valid integer, unable to parse string as an integer",
              input: value,
            },
          ],
          max_look_back: 300,
        },
      });
    }
  });

  it("given ?group_id=, then the wait names that group; empty, none", async () => {
    expect((await parseWaypointRequest(request(tenantKey, { group_id: "acme" }), rules())).wait.groupId).toBe("acme");
    expect((await parseWaypointRequest(request(tenantKey, { group_id: "" }), rules())).wait.groupId).toBeUndefined();
  });

  it("given the static tenant-admin key, then every wallet; unset or wrong, refused with 403", async () => {
    expect((await parseWaypointRequest(request(`tenant-admin.${ADMIN_KEY}`), rules())).scope).toEqual({
      kind: "tenant-admin-key",
    });
    for (const [key, configured] of [
      [`tenant-admin.${ADMIN_KEY}`, undefined],
      [`tenant-admin.${ADMIN_KEY}x`, ADMIN_KEY],
      ["tenant-admin.", ADMIN_KEY],
    ] as const) {
      const { status, body } = await refusal(
        parseWaypointRequest(request(key), rules({ tenantAdminApiKey: configured })),
      );
      expect(status).toBe(403);
      expect(body).toMatchObject({ code: "TENANT_KEY_REFUSED", detail: expect.any(String) });
      expect(JSON.stringify(body)).not.toContain(ADMIN_KEY);
    }
  });

  it("given no JWT secret, then the static key still works and tenant tokens are refused", async () => {
    expect(
      (await parseWaypointRequest(request(`tenant-admin.${ADMIN_KEY}`), rules({ tenantJwtSecret: undefined }))).scope
        .kind,
    ).toBe("tenant-admin-key");
    expect(
      await refusal(parseWaypointRequest(request(tenantKey), rules({ tenantJwtSecret: undefined }))),
    ).toMatchObject({ status: 403, body: { reason: "not-configured" } });
  });

  it("given a key without a role prefix or with an unknown role, then 401 before anything else is looked at", async () => {
    for (const key of [ADMIN_KEY, `admin.${ADMIN_KEY}`, `.${ADMIN_KEY}`]) {
      expect(await refusal(parseWaypointRequest(request(key, { look_back: "abc" }), rules()))).toMatchObject({
        status: 401,
        body: { reason: "unknown-role" },
      });
    }
  });

  it("given no key, then 403 Not authenticated, as FastAPI's APIKeyHeader answers", async () => {
    expect(await refusal(parseWaypointRequest(request(undefined), rules()))).toMatchObject({
      status: 403,
      body: { detail: expect.stringMatching(/^Not authenticated/), reason: "missing" },
    });
  });
});
