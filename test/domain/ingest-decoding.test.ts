import { describe, expect, it } from "vitest";
import {
  decodeTenantEventMessage,
  decodeTransactionMessage,
  transactionIdFor,
} from "../../src/domain/ingest-decoding.js";
import { findUnstorable } from "../../src/domain/storable-json.js";
import { fixtureTenantEvents, fixtureTransactions } from "../support/fixtures.js";

const encode = (value: unknown) => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
const message = (body: Uint8Array, messageId?: string) => ({
  body,
  source: "nats" as const,
  receivedAt: 1,
  maxBytes: 1024,
  ...(messageId ? { messageId } : {}),
});

describe("decodeTransactionMessage", () => {
  it("accepts every fixture transaction as TransactionReceived on its own stream", () => {
    for (const transaction of fixtureTransactions()) {
      const decision = decodeTransactionMessage(message(encode(transaction), "m-1"));
      expect(decision.accepted).toBe(true);
      expect(decision.event.type).toBe("TransactionReceived");
      expect(decision.stream).toBe(`transaction-${decision.id}`);
      expect(decision.expectedRevision).toBe("no_stream");
    }
  });

  it("gives one transaction one id: by a real signature, whatever the message id", () => {
    const [, withSignature] = fixtureTransactions();
    const a = decodeTransactionMessage(message(encode(withSignature), "m-1"));
    const b = decodeTransactionMessage(message(encode(withSignature), "m-2"));
    expect(a.id).toBe(b.id);
  });

  it("does not treat the placeholder signature 0x00 as an identity", () => {
    const [seed] = fixtureTransactions();
    expect(seed?.signature).toBe("0x00");
    expect(transactionIdFor(seed!, "m-1")).not.toBe(transactionIdFor(seed!, "m-2"));
    expect(transactionIdFor(seed!, "m-1")).toBe(transactionIdFor(seed!, "m-1"));
  });

  it.each([
    ["not JSON", "{nope", "not JSON"],
    ["an array", "[]", "JSON object"],
    ["no events", JSON.stringify({ status: "SUCCESS" }), "events must be an array"],
    [
      "an event without a type",
      JSON.stringify({ status: "SUCCESS", events: [{ action: "create", collectionId: "1:evm:0x1" }] }),
      "events[0].type",
    ],
  ])("rejects %s with the reason", (_name, body, reason) => {
    const decision = decodeTransactionMessage(message(encode(body), "bad-1"));
    expect(decision.accepted).toBe(false);
    expect(decision.event.type).toBe("TransactionRejected");
    expect((decision.event.data as { reason: string }).reason).toContain(reason);
    expect(decision.stream.startsWith("rejected-")).toBe(true);
  });

  it("rejects invalid UTF-8 and oversized messages, keeping only an excerpt", () => {
    const invalid = decodeTransactionMessage(message(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])));
    expect((invalid.event.data as { reason: string }).reason).toBe("not valid UTF-8");
    const big = decodeTransactionMessage(message(encode({ status: "x", events: [], pad: "a".repeat(5000) })));
    expect(big.accepted).toBe(false);
    expect((big.event.data as { reason: string; excerpt: string }).reason).toMatch(/too large/);
    expect((big.event.data as { excerpt: string }).excerpt.length).toBeLessThanOrEqual(512);
  });

  it.each([
    ["a NUL in a string", '{"status":"SUCCESS","events":[],"label":"a\\u0000b"}', "nul_character", "$.label"],
    ["a NUL in a key", '{"status":"SUCCESS","events":[],"a\\u0000":1}', "nul_character", "a key in $"],
    ["a lone high surrogate", '{"status":"SUCCESS","events":[],"x":"\\ud800"}', "lone_surrogate", "$.x"],
    ["a lone low surrogate in a key", '{"status":"SUCCESS","events":[],"\\udc00":1}', "lone_surrogate", "a key in $"],
    [
      "5,000 levels of nesting",
      `{"status":"SUCCESS","events":[],"deep":${"[".repeat(5000)}${"]".repeat(5000)}}`,
      "too_deep",
      "nested deeper than 64 levels",
    ],
  ])("refuses %s, which the store cannot hold, with its code and a storable record", (_name, body, code, where) => {
    const decision = decodeTransactionMessage({ ...message(encode(body), "poison-1"), maxBytes: 65_536 });
    expect(decision.accepted).toBe(false);
    const data = decision.event.data as { code: string; reason: string; excerpt: string };
    expect(data.code).toBe(code);
    expect(data.reason).toContain(where);
    expect(findUnstorable(decision.event.data)).toBeUndefined();
  });

  it("refuses a message id the store cannot hold, and records it made storable", () => {
    const decision = decodeTransactionMessage(message(encode({ status: "SUCCESS", events: [] }), "id\u0000"));
    expect(decision.accepted).toBe(false);
    expect(decision.event.data).toMatchObject({ code: "nul_character", messageId: "id\uFFFD" });
  });

  it("keeps the record of a raw NUL byte or a cut multi-byte character storable", () => {
    const raw = decodeTransactionMessage(message(new Uint8Array([0x7b, 0x00, 0x7d])));
    expect(raw.event.data).toMatchObject({ code: "not_json" });
    expect(findUnstorable(raw.event.data)).toBeUndefined();
    const cut = decodeTransactionMessage({ ...message(encode(`"${"é".repeat(600)}"`)), maxBytes: 100 });
    expect(cut.event.data).toMatchObject({ code: "too_large" });
    expect(findUnstorable(cut.event.data)).toBeUndefined();
  });

  it("records a redelivered bad message under the same id", () => {
    const a = decodeTransactionMessage(message(encode("{"), "same"));
    const b = decodeTransactionMessage(message(encode("{"), "same"));
    expect(a.stream).toBe(b.stream);
  });
});

describe("decodeTenantEventMessage", () => {
  it("accepts the fixture tenant events", () => {
    for (const event of fixtureTenantEvents()) {
      const decision = decodeTenantEventMessage(message(encode(event)));
      expect(decision.accepted).toBe(true);
      expect(decision.event.type).toBe("TenantEventReceived");
    }
  });

  it("rejects an event without a wallet or with a non-object payload", () => {
    expect(decodeTenantEventMessage(message(encode({ topic: "proofs", payload: {} }))).accepted).toBe(false);
    const decision = decodeTenantEventMessage(message(encode({ wallet_id: "w", topic: "proofs", payload: "x" })));
    expect(decision.event.data).toMatchObject({ code: "invalid_shape", reason: "payload must be an object" });
  });

  it("refuses a payload the store cannot hold", () => {
    const decision = decodeTenantEventMessage(
      message(encode('{"wallet_id":"w","topic":"connections","payload":{"label":"\\udfff"}}')),
    );
    expect(decision.event.data).toMatchObject({
      code: "lone_surrogate",
      reason: expect.stringContaining("$.payload.label"),
    });
  });
});

describe("published text", () => {
  it("keeps each accepted message's text exactly as it came, beside the parsed form", () => {
    const transaction = `\uFEFF{ "status":"SUCCESS","events":[{"type":"asset-link","action":"create","collectionId":"c","2":1.50,"1":1e2}], "10":"é\\u00e9" }`;
    const tenantEvent = `{"payload":{"state":"done","10":1.0},"wallet_id":"w","topic":"basic-message"}`;
    const tx = decodeTransactionMessage(message(new TextEncoder().encode(transaction)));
    const te = decodeTenantEventMessage(message(new TextEncoder().encode(tenantEvent)));
    expect(tx.accepted && te.accepted).toBe(true);
    expect(tx.event.data).toMatchObject({ publishedText: transaction, transaction: { status: "SUCCESS", "10": "éé" } });
    expect(te.event.data).toMatchObject({
      publishedText: tenantEvent,
      event: { wallet_id: "w", topic: "basic-message" },
    });
  });
});
