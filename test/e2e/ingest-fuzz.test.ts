import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHerald, TEST_INGEST_TOKEN, type TestHerald } from "../support/test-herald.js";

const MAX_BYTES = 2048;

/** Bodies a careless or hostile client might send: random JSON, near-valid shapes, bytes that are not UTF-8, oversized. */
const body = fc.oneof(
  fc.json().map((text) => Buffer.from(text)),
  fc
    .record({
      status: fc.string(),
      events: fc.array(
        fc.record({ type: fc.string(), action: fc.string(), collectionId: fc.string() }, { requiredKeys: [] }),
      ),
    })
    .map((value) => Buffer.from(JSON.stringify(value))),
  fc
    .record({ wallet_id: fc.string(), topic: fc.string(), payload: fc.anything() }, { requiredKeys: [] })
    .map((value) => Buffer.from(JSON.stringify(value))),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc
    .integer({ min: MAX_BYTES - 10, max: MAX_BYTES * 2 })
    .map((size) => Buffer.from(JSON.stringify({ status: "SUCCESS", events: [], pad: "x".repeat(size) }))),
);

describe("ingest under random input", () => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald({ nats: false, env: { HERALD_MAX_PAYLOAD_BYTES: String(MAX_BYTES) } });
  });
  afterAll(async () => {
    await herald?.cleanup();
  });

  it("answers 202 or 4xx, never 5xx, stays up, and writes exactly one event per 202", {
    timeout: 120_000,
  }, async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom("/v1/transactions", "/v1/events"), async (payload, path) => {
        const response = await fetch(`${herald.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${TEST_INGEST_TOKEN}` },
          body: payload,
        });
        expect(response.status === 202 || (response.status >= 400 && response.status < 500)).toBe(true);
        const answer = (await response.json()) as { duplicate?: boolean; code?: string };
        if (response.status === 202 && !answer.duplicate) accepted++;
        if (response.status !== 202) expect(answer.code).toEqual(expect.any(String));
      }),
      { numRuns: 150 },
    );
    expect((await fetch(`${herald.url}/healthz`)).status).toBe(200);
    expect(accepted).toBeGreaterThan(0);
    const read = () =>
      herald.herald.store.readAll("start", {
        maxCount: 100_000,
        filter: { streamPrefixes: ["transaction-", "tenant-event-", "rejected-"] },
      });
    // Global reads may trail the last append by a moment (see the event store port).
    await expect.poll(async () => (await read()).length, { timeout: 20_000 }).toBe(accepted);
  });
});
