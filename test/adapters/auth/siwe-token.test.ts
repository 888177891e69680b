import { describe, expect, it } from "vitest";
import { createSiweToken, SiweTokenVerifier } from "../../../src/adapters/auth/siwe-token.js";
import { bearerToken, newAccount, signedToken, siweMessage } from "../../support/siwe.js";

const domain = "herald.test";
const verifier = () => new SiweTokenVerifier({ domain, maxTtlS: 86_400 });
const hour = 3_600_000;

describe("SiweTokenVerifier", () => {
  it("accepts a token signed by the message's address and answers its checksummed address", async () => {
    const account = newAccount();
    const result = await verifier().verify(await signedToken(account, domain));
    expect(result).toMatchObject({ ok: true, address: account.address });
  });

  it.each([
    [
      "expired",
      { issuedAt: new Date(Date.now() - 2 * hour), expirationTime: new Date(Date.now() - hour) },
      "expirationTime has passed",
    ],
    ["without expirationTime", { expirationTime: undefined }, "expirationTime is required"],
    [
      "living longer than the maximum",
      { expirationTime: new Date(Date.now() + 25 * hour) },
      "more than 86400 s after issuedAt",
    ],
    [
      "issued in the future",
      { issuedAt: new Date(Date.now() + hour), expirationTime: new Date(Date.now() + 2 * hour) },
      "issuedAt is in the future",
    ],
    ["not yet valid", { notBefore: new Date(Date.now() + 60_000) }, "notBefore has not passed yet"],
  ])("refuses a token %s, saying which check failed", async (_name, fields, reason) => {
    const result = await verifier().verify(await signedToken(newAccount(), domain, fields));
    expect(result).toEqual({ ok: false, reason: expect.stringContaining(reason) });
  });

  it("refuses a token for another domain", async () => {
    const result = await verifier().verify(await signedToken(newAccount(), "evil.test"));
    expect(result).toEqual({ ok: false, reason: expect.stringContaining("domain must be herald.test") });
  });

  it("refuses a chain id outside HERALD_SIWE_CHAIN_IDS", async () => {
    const strict = new SiweTokenVerifier({ domain, maxTtlS: 86_400, chainIds: [137] });
    expect(await strict.verify(await signedToken(newAccount(), domain, { chainId: 1 }))).toEqual({
      ok: false,
      reason: expect.stringContaining("chainId 1 is not accepted"),
    });
    expect(await strict.verify(await signedToken(newAccount(), domain, { chainId: 137 }))).toMatchObject({ ok: true });
  });

  it("refuses a tampered message", async () => {
    const account = newAccount();
    const message = siweMessage(account, domain);
    const signature = await account.signMessage({ message });
    const tampered = message.replace("Sign in to herald", "Sign in to herald as admin");
    expect(await verifier().verify(bearerToken(tampered, signature))).toEqual({
      ok: false,
      reason: expect.stringContaining("signature does not match"),
    });
  });

  it("refuses a signature that does not parse (non-canonical s) itself, before siwe prints it to the console", async () => {
    const [message] = (await signedToken(newAccount(), domain)).split(".");
    expect(await verifier().verify(`${message}.0x${"ab".repeat(65)}`)).toEqual({
      ok: false,
      reason: expect.stringContaining("not a valid secp256k1 signature"),
    });
  });

  it("refuses a signature from another key", async () => {
    const message = siweMessage(newAccount(), domain);
    const signature = await newAccount().signMessage({ message });
    expect(await verifier().verify(bearerToken(message, signature))).toEqual({
      ok: false,
      reason: expect.stringContaining("signature does not match"),
    });
  });

  it.each([
    "",
    "garbage",
    "a.b.c",
    `${Buffer.from("not siwe").toString("base64url")}.0x${"ab".repeat(65)}`,
    "x".repeat(10_000),
  ])("refuses a malformed token %#", async (token) => {
    expect(await verifier().verify(token)).toMatchObject({ ok: false });
  });

  it("caches a verified token until it expires", async () => {
    let now = Date.now();
    const clocked = new SiweTokenVerifier({ domain, maxTtlS: 86_400 }, () => now);
    const token = await signedToken(newAccount(), domain, { expirationTime: new Date(now + 60_000) });
    expect(await clocked.verify(token)).toMatchObject({ ok: true });
    const started = performance.now();
    for (let i = 0; i < 100; i++) expect((await clocked.verify(token)).ok).toBe(true);
    // A hundred signature recoveries take several hundred ms; a hundred cache hits well under one.
    expect(performance.now() - started).toBeLessThan(100);
    now += 61_000;
    expect(await clocked.verify(token)).toEqual({
      ok: false,
      reason: expect.stringContaining("expirationTime has passed"),
    });
  });
});

describe("createSiweToken", () => {
  it("makes a token the verifier accepts, for the key's address", async () => {
    const privateKey = `0x${"5a".repeat(32)}`;
    const { token, address } = await createSiweToken({ privateKey, domain, ttlS: 600 });
    expect(await verifier().verify(token)).toEqual({ ok: true, address, expiresAt: expect.any(Number) });
  });
});
