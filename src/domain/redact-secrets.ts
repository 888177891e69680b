/**
 * Event data as an auditor may see it. Sealed secrets are ciphertext, but ciphertext handed out is
 * ciphertext that can be attacked offline or opened by whoever later holds the key, and an audit
 * trail only needs to show that a secret was set or rotated, not its value.
 */
export const REDACTED = "[redacted]";

/** The fields that hold sealed secrets in webhook events (see webhook-events.ts). */
const SECRET_FIELDS: ReadonlySet<string> = new Set(["apiKey", "signingSecret"]);

/** A copy of `data` with every secret field, at any depth, replaced by REDACTED. */
export function redactSecrets(data: unknown): unknown {
  if (Array.isArray(data)) return data.map(redactSecrets);
  if (data === null || typeof data !== "object") return data;
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key, SECRET_FIELDS.has(key) ? REDACTED : redactSecrets(value)]),
  );
}
