import { SiweMessage } from "siwe";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { SiweTokenVerifier } from "../../../src/adapters/auth/siwe-token.js";
import { describeSiweToken } from "../../../src/app/web/client/siwe-token.js";
import { type Eip1193Provider, signInWithWallet } from "../../../src/app/web/client/wallet-sign-in.js";

const account = privateKeyToAccount(generatePrivateKey());
const settings = { siweDomain: "herald.example:4000", siweChainIds: null, siweMaxTtlS: 3600 };

/** A wallet as a browser extension presents it: lower-case addresses, hex chain ids, personal_sign on hex. */
function testWallet(chainId = 1): Eip1193Provider & { signed: string[] } {
  const signed: string[] = [];
  return {
    signed,
    async request({ method, params = [] }) {
      if (method === "eth_requestAccounts") return [account.address.toLowerCase()];
      if (method === "eth_chainId") return `0x${chainId.toString(16)}`;
      if (method === "personal_sign") {
        const [hex, address] = params as [`0x${string}`, string];
        expect(address).toBe(account.address);
        signed.push(Buffer.from(hex.slice(2), "hex").toString("utf8"));
        return account.signMessage({ message: { raw: hex } });
      }
      throw new Error(`unexpected ${method}`);
    },
  };
}

describe("signInWithWallet", () => {
  it("signs an EIP-4361 message that siwe parses and verifies, for herald's domain, checksummed", async () => {
    const wallet = testWallet(137);
    const now = new Date("2030-01-02T03:04:05.000Z");
    const signedIn = await signInWithWallet({ provider: wallet, settings, origin: "http://127.0.0.1:4000", now });

    expect(signedIn.address).toBe(account.address);
    expect(signedIn.expiresAt.toISOString()).toBe("2030-01-02T04:04:05.000Z");
    const [encoded, signature] = signedIn.token.split(".");
    const text = Buffer.from(encoded ?? "", "base64url").toString("utf8");
    expect(text).toBe(wallet.signed[0]);
    const message = new SiweMessage(text);
    expect(message).toMatchObject({
      domain: settings.siweDomain,
      address: account.address,
      uri: "http://127.0.0.1:4000",
      version: "1",
      chainId: 137,
      issuedAt: now.toISOString(),
      expirationTime: "2030-01-02T04:04:05.000Z",
    });
    // siwe's own formatting of the parsed fields gives back the very text that was signed.
    expect(message.prepareMessage()).toBe(text);
    const verified = await message.verify(
      { signature: signature ?? "", domain: settings.siweDomain, time: now.toISOString() },
      { suppressExceptions: true },
    );
    expect(verified.success).toBe(true);
    // And herald's own verifier takes the token.
    const verifier = new SiweTokenVerifier({ domain: settings.siweDomain, maxTtlS: settings.siweMaxTtlS }, () =>
      now.getTime(),
    );
    expect(await verifier.verify(signedIn.token)).toMatchObject({ ok: true, address: account.address });
  });

  it("refuses a chain herald does not accept, before asking for a signature", async () => {
    const wallet = testWallet(5);
    await expect(
      signInWithWallet({ provider: wallet, settings: { ...settings, siweChainIds: [1, 137] }, origin: "http://x" }),
    ).rejects.toThrow(/accepts chain 1 or 137, and the wallet is on chain 5/);
    expect(wallet.signed).toEqual([]);
  });
});

describe("describeSiweToken", () => {
  it("reads who signed and until when, from a token or a pasted Bearer header", async () => {
    const signedIn = await signInWithWallet({ provider: testWallet(), settings, origin: "http://x" });
    expect(describeSiweToken(`Bearer ${signedIn.token}\n`)).toEqual(signedIn);
  });

  it("says what a token looks like when given something else", () => {
    expect(() => describeSiweToken("hello")).toThrow(/base64url\(message\)\.0xsignature/);
    expect(() => describeSiweToken(`${Buffer.from("hi").toString("base64url")}.0xab`)).toThrow(
      /not a Sign-In with Ethereum message/,
    );
  });
});
