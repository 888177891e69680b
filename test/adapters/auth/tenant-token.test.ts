import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createTenantToken, verifyTenantToken } from "../../../src/adapters/auth/tenant-token.js";

const SECRET = "test-secret";
const NOW = 1_800_000_000;
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const forge = (kind: string, header: unknown, claims: unknown, secret = SECRET) => {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${kind}.${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
};

describe("tenant tokens", () => {
  it("given a tenant key made with the secret, when verified, then it scopes to its wallet (and group)", () => {
    const key = createTenantToken(
      SECRET,
      { kind: "tenant", walletId: "w-1", groupId: "acme" },
      { ttlS: 60, nowS: NOW },
    );
    expect(key.startsWith("tenant.")).toBe(true);
    expect(verifyTenantToken(SECRET, key, NOW)).toEqual({
      ok: true,
      scope: { kind: "tenant", walletId: "w-1", groupId: "acme" },
    });
  });

  it("given a tenant-admin key, when verified, then it scopes to its group", () => {
    const key = createTenantToken(SECRET, { kind: "tenant-admin", groupId: "acme" }, { nowS: NOW });
    expect(verifyTenantToken(SECRET, key, NOW + 10 ** 6)).toEqual({
      ok: true,
      scope: { kind: "tenant-admin", groupId: "acme" },
    });
  });

  it("given an expired key, when verified, then it is refused as expired", () => {
    const key = createTenantToken(SECRET, { kind: "tenant", walletId: "w-1" }, { ttlS: 60, nowS: NOW });
    expect(verifyTenantToken(SECRET, key, NOW + 59).ok).toBe(true);
    expect(verifyTenantToken(SECRET, key, NOW + 60)).toEqual({ ok: false, problem: "expired" });
  });

  it("given a key signed with another secret or altered, when verified, then the signature fails", () => {
    const key = createTenantToken("other", { kind: "tenant", walletId: "w-1" }, { nowS: NOW });
    expect(verifyTenantToken(SECRET, key, NOW)).toEqual({ ok: false, problem: "bad-signature" });
    const [kind, header, , signature] = createTenantToken(
      SECRET,
      { kind: "tenant", walletId: "w-1" },
      { nowS: NOW },
    ).split(".");
    expect(verifyTenantToken(SECRET, `${kind}.${header}.${b64({ wallet_id: "w-2" })}.${signature}`, NOW)).toEqual({
      ok: false,
      problem: "bad-signature",
    });
  });

  it("given a tenant key presented as tenant-admin, when verified, then it lacks the group claim", () => {
    const key = createTenantToken(SECRET, { kind: "tenant", walletId: "w-1" }, { nowS: NOW });
    expect(verifyTenantToken(SECRET, key.replace(/^tenant\./, "tenant-admin."), NOW)).toEqual({
      ok: false,
      problem: "missing-claim",
    });
  });

  it.each([
    ["nothing", undefined, "missing"],
    ["an empty key", "", "missing"],
    ["no role prefix", "eyJ.eyJ.sig", "unknown-role"],
    ["no dot at all", "some-static-key", "unknown-role"],
    ["an unknown prefix", "admin.a.b.c", "unknown-role"],
    ["a governance key, which herald never accepts", "governance.a.b.c", "malformed"],
    ["two parts", "tenant.a.b", "malformed"],
    ["alg none", forge("tenant", { alg: "none" }, { wallet_id: "w" }), "malformed"],
    ["a body that is not JSON", `tenant.${b64({ alg: "HS256" })}.bm90IGpzb24.sig`, "bad-signature"],
  ])("given %s, when verified, then it is refused as %s", (_name, key, problem) => {
    expect(verifyTenantToken(SECRET, key, NOW)).toEqual({ ok: false, problem });
  });

  it("given a correctly signed key without a wallet_id, then it is refused", () => {
    expect(verifyTenantToken(SECRET, forge("tenant", { alg: "HS256" }, { group_id: "acme" }), NOW)).toEqual({
      ok: false,
      problem: "missing-claim",
    });
  });

  it("given a key not valid yet (nbf) or with a non-numeric exp, then it is refused", () => {
    expect(verifyTenantToken(SECRET, forge("tenant", { alg: "HS256" }, { wallet_id: "w", nbf: NOW + 5 }), NOW)).toEqual(
      { ok: false, problem: "not-yet-valid" },
    );
    expect(verifyTenantToken(SECRET, forge("tenant", { alg: "HS256" }, { wallet_id: "w", exp: "never" }), NOW)).toEqual(
      { ok: false, problem: "expired" },
    );
  });

  it("is interoperable: a key made by any HS256 library verifies", () => {
    expect(
      verifyTenantToken(SECRET, forge("tenant", { alg: "HS256", typ: "JWT" }, { wallet_id: "w", exp: NOW + 1 }), NOW),
    ).toEqual({
      ok: true,
      scope: { kind: "tenant", walletId: "w" },
    });
  });
});
