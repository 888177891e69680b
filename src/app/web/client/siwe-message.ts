/**
 * The EIP-4361 (Sign-In with Ethereum) message text. The `siwe` package builds the same text, but
 * it needs Node's Buffer in the browser (through its ABNF parser); the format is a fixed sequence of
 * lines, so the page writes it itself and herald parses it with `siwe` on the way in.
 */
export interface SiweMessageFields {
  readonly domain: string;
  /** EIP-55 checksummed. */
  readonly address: string;
  readonly statement: string;
  readonly uri: string;
  readonly chainId: number;
  /** At least 8 letters and digits. */
  readonly nonce: string;
  readonly issuedAt: Date;
  readonly expirationTime: Date;
}

/** What the wallet shows above the message's fields; the CLI's tokens say the same. */
export const SIGN_IN_STATEMENT = "Sign in to herald to manage webhook endpoints and subscriptions.";

export function formatSiweMessage(fields: SiweMessageFields): string {
  return [
    `${fields.domain} wants you to sign in with your Ethereum account:`,
    fields.address,
    "",
    fields.statement,
    "",
    `URI: ${fields.uri}`,
    "Version: 1",
    `Chain ID: ${fields.chainId}`,
    `Nonce: ${fields.nonce}`,
    `Issued At: ${fields.issuedAt.toISOString()}`,
    `Expiration Time: ${fields.expirationTime.toISOString()}`,
  ].join("\n");
}
