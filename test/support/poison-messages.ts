import { randomUUID } from "node:crypto";
import type { IngestRejectionCode } from "../../src/domain/ingest-events.js";
import { SEED_COLLECTION } from "./fixtures.js";

/**
 * Messages a careless or hostile publisher sends that herald must refuse without stopping: every
 * kind of body the event log cannot hold, plus the plainly malformed ones. Shared by the e2e test
 * and the `poison-messages` drill.
 */
export interface PoisonMessage {
  readonly name: string;
  /** The rejection code herald records for it. */
  readonly code: IngestRejectionCode;
  readonly body: Uint8Array;
}

/** A transaction that the drill's and the tests' subscriptions match (asset-link create). */
export function goodTransaction(n: number): Record<string, unknown> {
  return {
    status: "SUCCESS",
    signature: `0x${(n + 1).toString(16).padStart(64, "0")}`,
    message: "",
    events: [{ type: "asset-link", action: "create", args: [`asset-${n}`], collectionId: SEED_COLLECTION }],
  };
}

/** A connection of a wallet of its own reaching `completed`: one SSE waiter waits for exactly it. */
export function goodTenantEvent(group = "acme"): {
  wallet_id: string;
  topic: string;
  group_id: string;
  payload: Record<string, unknown>;
} {
  return {
    wallet_id: randomUUID(),
    topic: "connections",
    group_id: group,
    payload: { connection_id: randomUUID(), state: "completed", their_label: "issuer" },
  };
}

/** Each kind of poison, built on a message that would otherwise be accepted. */
export function poisonMessages(template: Record<string, unknown>, maxBytes: number): PoisonMessage[] {
  const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  // JSON.stringify writes a lone surrogate as an escape (\udc00): valid JSON, which jsonb refuses.
  const withPayload = (extra: Record<string, unknown>) =>
    "payload" in template
      ? { ...template, payload: { ...(template.payload as object), ...extra } }
      : { ...template, ...extra };
  // Written as text: JSON.stringify itself runs out of stack about 4,000 levels down.
  const deep = new TextEncoder().encode(
    JSON.stringify(withPayload({ deep: "#" })).replace('"#"', `${"[".repeat(5000)}${"]".repeat(5000)}`),
  );
  return [
    { name: "NUL in a string", code: "nul_character", body: encode(withPayload({ their_label: "a\u0000b" })) },
    { name: "NUL in a key", code: "nul_character", body: encode(withPayload({ "label\u0000": "x" })) },
    { name: "lone high surrogate", code: "lone_surrogate", body: encode(withPayload({ their_label: "\ud83d" })) },
    { name: "lone low surrogate", code: "lone_surrogate", body: encode(withPayload({ their_label: "x\udc00y" })) },
    { name: "5,000-deep nesting", code: "too_deep", body: deep },
    {
      name: "invalid UTF-8",
      code: "not_utf8",
      body: new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    },
    { name: "not JSON", code: "not_json", body: new TextEncoder().encode('{"status": "SUCCESS", events: [}') },
    { name: "over the size limit", code: "too_large", body: encode(withPayload({ pad: "x".repeat(maxBytes) })) },
  ];
}
