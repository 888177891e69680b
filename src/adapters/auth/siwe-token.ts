import { randomBytes } from "node:crypto";
import { getAddress, Signature, Wallet } from "ethers";
import { SiweErrorType, SiweMessage } from "siwe";

/**
 * SIWE (EIP-4361) bearer tokens: `base64url(message)` + `.` + the `0x` signature of the message.
 * There is no server session: every request carries its token and the token is checked on its own.
 */

export interface SiwePolicy {
  /** The `domain` every message must name (HERALD_SIWE_DOMAIN). */
  readonly domain: string;
  /** Accepted chain ids; undefined accepts any. */
  readonly chainIds?: readonly number[] | undefined;
  /** Longest accepted expirationTime − issuedAt, in seconds. */
  readonly maxTtlS: number;
}

export type SiweVerification =
  | { readonly ok: true; readonly address: string; readonly expiresAt: number }
  | { readonly ok: false; readonly reason: string };

/** Bounds the memory an abusive client can make the cache hold. */
const MAX_CACHED_TOKENS = 10_000;
const MAX_TOKEN_LENGTH = 8192;
/** Clocks differ: an issuedAt this far in the future is still accepted. */
const CLOCK_SKEW_MS = 60_000;
const SIGNATURE = /^0x[0-9a-fA-F]{128}([0-9a-fA-F]{2})?$/;

/**
 * Checks tokens against the policy. Successful checks are cached per token until the token
 * expires, so a busy client does not pay for signature recovery on every request; failures are not
 * cached, so that the cache cannot be filled with garbage.
 */
export class SiweTokenVerifier {
  readonly #cache = new Map<string, { address: string; expiresAt: number }>();

  constructor(
    private readonly policy: SiwePolicy,
    private readonly now: () => number = Date.now,
  ) {}

  async verify(token: string): Promise<SiweVerification> {
    const now = this.now();
    const cached = this.#cache.get(token);
    if (cached) {
      if (cached.expiresAt > now) return { ok: true, ...cached };
      this.#cache.delete(token);
      return fail(`expirationTime has passed (${new Date(cached.expiresAt).toISOString()})`);
    }
    const verification = await this.#check(token, now);
    if (verification.ok) this.#remember(token, verification);
    return verification;
  }

  async #check(token: string, now: number): Promise<SiweVerification> {
    if (token.length > MAX_TOKEN_LENGTH) return fail("the token is too long");
    const parts = token.split(".");
    const [encoded, signature] = parts;
    if (parts.length !== 2 || !encoded || !signature || !/^[A-Za-z0-9_-]+$/.test(encoded)) {
      return fail("the token must be base64url(message).0xsignature");
    }
    if (!SIGNATURE.test(signature)) return fail("the signature must be 0x followed by 65 bytes in hex");
    // siwe writes the error of a signature it cannot parse (a non-canonical `s`, a bad `v`) to
    // console.error, bypassing our logger: anyone could fill stderr with text of their choosing.
    try {
      // Reading `s` is what throws for a non-canonical one.
      void Signature.from(signature).s;
    } catch {
      return fail("the signature is not a valid secp256k1 signature");
    }
    let message: SiweMessage;
    try {
      message = new SiweMessage(Buffer.from(encoded, "base64url").toString("utf8"));
    } catch {
      return fail("the message is not an EIP-4361 message");
    }

    if (message.domain !== this.policy.domain)
      return fail(`domain must be ${this.policy.domain}, got ${message.domain}`);
    if (!message.expirationTime) return fail("expirationTime is required");
    const expiresAt = Date.parse(message.expirationTime);
    const issuedAt = message.issuedAt ? Date.parse(message.issuedAt) : Number.NaN;
    if (Number.isNaN(expiresAt)) return fail("expirationTime is not an ISO-8601 time");
    if (Number.isNaN(issuedAt)) return fail("issuedAt is missing or not an ISO-8601 time");
    if (expiresAt <= now) return fail(`expirationTime has passed (${message.expirationTime})`);
    // Without this a token issued "in the future" could outlive the maximum lifetime.
    if (issuedAt > now + CLOCK_SKEW_MS) return fail(`issuedAt is in the future (${message.issuedAt})`);
    if (expiresAt - issuedAt > this.policy.maxTtlS * 1000) {
      return fail(`expirationTime is more than ${this.policy.maxTtlS} s after issuedAt`);
    }
    if (message.notBefore) {
      const notBefore = Date.parse(message.notBefore);
      if (Number.isNaN(notBefore)) return fail("notBefore is not an ISO-8601 time");
      if (notBefore > now) return fail(`notBefore has not passed yet (${message.notBefore})`);
    }
    if (this.policy.chainIds && !this.policy.chainIds.includes(message.chainId)) {
      return fail(`chainId ${message.chainId} is not accepted (accepted: ${this.policy.chainIds.join(", ")})`);
    }

    // siwe rejects with a plain object unless exceptions are suppressed.
    const result = await message.verify(
      { signature, domain: this.policy.domain, time: new Date(now).toISOString() },
      { suppressExceptions: true },
    );
    if (!result.success) {
      if (result.error?.type === SiweErrorType.INVALID_SIGNATURE)
        return fail("the signature does not match the message's address");
      return fail(`the message was refused: ${result.error?.type ?? "unknown reason"}`);
    }
    return { ok: true, address: getAddress(message.address), expiresAt };
  }

  #remember(token: string, verification: { address: string; expiresAt: number }): void {
    if (this.#cache.size >= MAX_CACHED_TOKENS) {
      const now = this.now();
      for (const [key, entry] of this.#cache) if (entry.expiresAt <= now) this.#cache.delete(key);
      // Still full: forget the oldest entry (a Map iterates in insertion order).
      const oldest = this.#cache.keys().next();
      if (this.#cache.size >= MAX_CACHED_TOKENS && !oldest.done) this.#cache.delete(oldest.value);
    }
    this.#cache.set(token, { address: verification.address, expiresAt: verification.expiresAt });
  }
}

function fail(reason: string): SiweVerification {
  return { ok: false, reason: `SIWE token refused: ${reason}` };
}

/** The bearer token for a message and its signature. */
export function encodeSiweToken(message: string, signature: string): string {
  return `${Buffer.from(message, "utf8").toString("base64url")}.${signature}`;
}

export interface CreateSiweTokenOptions {
  /** 0x-prefixed 32-byte hex private key. */
  readonly privateKey: string;
  readonly domain: string;
  readonly ttlS: number;
  readonly chainId?: number;
  readonly now?: Date;
}

/** Signs a fresh sign-in message: for the CLI and for people trying the API by hand. */
export async function createSiweToken(
  options: CreateSiweTokenOptions,
): Promise<{ token: string; address: string; expiresAt: Date }> {
  const wallet = new Wallet(options.privateKey);
  const issuedAt = options.now ?? new Date();
  const expiresAt = new Date(issuedAt.getTime() + options.ttlS * 1000);
  const message = new SiweMessage({
    domain: options.domain,
    address: wallet.address,
    statement: "Sign in to herald to manage webhook endpoints and subscriptions.",
    uri: `https://${options.domain}`,
    version: "1",
    chainId: options.chainId ?? 1,
    nonce: randomBytes(12).toString("hex"),
    issuedAt: issuedAt.toISOString(),
    expirationTime: expiresAt.toISOString(),
  }).prepareMessage();
  const signature = await wallet.signMessage(message);
  return { token: encodeSiweToken(message, signature), address: wallet.address, expiresAt };
}
