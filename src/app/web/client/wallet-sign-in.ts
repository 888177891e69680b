import { getAddress } from "ethers";
import { formatSiweMessage, SIGN_IN_STATEMENT } from "./siwe-message.js";
import { encodeSiweToken, type SignedIn } from "./siwe-token.js";

/** The part of EIP-1193 (a browser wallet's `window.ethereum`) that signing in uses. */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

/** What herald tells a page about the tokens it accepts. */
export interface SiweSettings {
  /** The SIWE `domain` that herald accepts (HERALD_SIWE_DOMAIN). */
  readonly siweDomain: string;
  /** Accepted chain ids; null accepts any (HERALD_SIWE_CHAIN_IDS). */
  readonly siweChainIds: readonly number[] | null;
  /** Longest token lifetime herald accepts, in seconds (HERALD_SIWE_MAX_TTL_S). */
  readonly siweMaxTtlS: number;
}

export interface WalletSignIn {
  readonly provider: Eip1193Provider;
  readonly settings: SiweSettings;
  /** The page's origin: the message's URI. */
  readonly origin: string;
  readonly now?: Date;
}

/** Asks the wallet for its account and a signature of a fresh sign-in message for this herald. */
export async function signInWithWallet({
  provider,
  settings,
  origin,
  now = new Date(),
}: WalletSignIn): Promise<SignedIn> {
  const accounts = await provider.request({ method: "eth_requestAccounts" });
  const account = Array.isArray(accounts) ? accounts[0] : undefined;
  if (typeof account !== "string") throw new Error("the wallet shared no account");
  const chainId = Number(BigInt(String(await provider.request({ method: "eth_chainId" }))));
  if (settings.siweChainIds && !settings.siweChainIds.includes(chainId)) {
    throw new Error(
      `herald accepts chain ${settings.siweChainIds.join(" or ")}, and the wallet is on chain ${chainId}: switch networks in the wallet`,
    );
  }
  // Wallets report addresses in lower case; EIP-4361 requires the EIP-55 checksum.
  const address = getAddress(account);
  const expiresAt = new Date(now.getTime() + settings.siweMaxTtlS * 1000);
  const message = formatSiweMessage({
    domain: settings.siweDomain,
    address,
    statement: SIGN_IN_STATEMENT,
    uri: origin,
    chainId,
    nonce: randomNonce(),
    issuedAt: now,
    expirationTime: expiresAt,
  });
  const signature = await provider.request({ method: "personal_sign", params: [utf8Hex(message), address] });
  if (typeof signature !== "string" || !/^0x[0-9a-fA-F]+$/.test(signature))
    throw new Error("the wallet returned no signature");
  return { token: encodeSiweToken(message, signature), address, expiresAt };
}

/** personal_sign takes the message as hex of its UTF-8 bytes. */
function utf8Hex(text: string): string {
  return `0x${Array.from(new TextEncoder().encode(text), (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

function randomNonce(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** EIP-1193 errors are objects with a code; 4001 means the user said no. */
export function walletErrorMessage(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code === 4001) return "The wallet request was declined.";
  return typeof message === "string" && message !== "" ? message : String(error);
}
