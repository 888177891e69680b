/**
 * herald's bearer token, `base64url(EIP-4361 message)` + "." + the 0x signature, built and read in
 * the browser (herald's own verifier is in src/adapters/auth/siwe-token.ts).
 */
export interface SignedIn {
  readonly token: string;
  readonly address: string;
  readonly expiresAt: Date;
}

export function encodeSiweToken(message: string, signature: string): string {
  return `${toBase64Url(new TextEncoder().encode(message))}.${signature}`;
}

/**
 * Reads the address and expiry of a pasted token, so that the page can say who is signed in. Only
 * herald checks the signature.
 */
export function describeSiweToken(pasted: string): SignedIn {
  const token = pasted.trim().replace(/^Bearer\s+/i, "");
  const [encoded, signature, ...rest] = token.split(".");
  if (!encoded || !signature || rest.length > 0 || !/^0x[0-9a-fA-F]+$/.test(signature)) {
    throw new Error("a herald token looks like base64url(message).0xsignature");
  }
  let message: string;
  try {
    message = new TextDecoder("utf-8", { fatal: true }).decode(fromBase64Url(encoded));
  } catch {
    throw new Error("the part before the dot is not base64url text");
  }
  const address = /^0x[0-9a-fA-F]{40}$/m.exec(message.split("\n")[1] ?? "")?.[0];
  const expiration = /^Expiration Time: (.+)$/m.exec(message)?.[1];
  if (!address) throw new Error("the token's message is not a Sign-In with Ethereum message");
  if (!expiration) throw new Error("the token's message has no Expiration Time, and herald requires one");
  return { token, address, expiresAt: new Date(expiration) };
}

/** A pasted token, refused here already when it has expired (herald would refuse it anyway, less clearly). */
export function signInWithPastedToken(pasted: string, now = new Date()): SignedIn {
  const described = describeSiweToken(pasted);
  if (described.expiresAt.getTime() <= now.getTime())
    throw new Error(`that token expired at ${described.expiresAt.toLocaleString()}`);
  return described;
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new Error("not base64url");
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}
