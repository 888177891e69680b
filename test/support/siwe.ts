import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { type CreateSiweMessageParameters, createSiweMessage, generateSiweNonce } from "viem/siwe";

/**
 * SIWE tokens made the way a client makes them, with viem (an implementation independent of the
 * siwe package herald verifies with) and freshly generated keys.
 */
/** The SIWE domain the tests' herald is configured with (HERALD_SIWE_DOMAIN). */
export const TEST_SIWE_DOMAIN = "herald.test";

export const newAccount = (): PrivateKeyAccount => privateKeyToAccount(generatePrivateKey());

export type MessageFields = Partial<Omit<CreateSiweMessageParameters, "address">>;

export function siweMessage(account: PrivateKeyAccount, domain: string, fields: MessageFields = {}): string {
  const now = Date.now();
  return createSiweMessage({
    domain,
    address: account.address,
    statement: "Sign in to herald",
    uri: `https://${domain}`,
    version: "1",
    chainId: 1,
    nonce: generateSiweNonce(),
    issuedAt: new Date(now - 1000),
    expirationTime: new Date(now + 3_600_000),
    ...fields,
  });
}

/** The bearer token format: base64url(message) + "." + 0x signature. */
export function bearerToken(message: string, signature: string): string {
  return `${Buffer.from(message, "utf8").toString("base64url")}.${signature}`;
}

export async function signedToken(
  account: PrivateKeyAccount,
  domain: string,
  fields: MessageFields = {},
): Promise<string> {
  const message = siweMessage(account, domain, fields);
  return bearerToken(message, await account.signMessage({ message }));
}
