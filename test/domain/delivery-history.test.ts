import { describe, expect, it } from "vitest";
import type { DeliveryEvent } from "../../src/domain/delivery.js";
import { evolveDeliveryHistory, withTransaction } from "../../src/domain/delivery-history.js";
import type { Transaction } from "../../src/domain/ingest-events.js";

const text = '{"status":"SUCCESS",  "events":[]}';
const transaction: Transaction = JSON.parse(text);
const scheduled = (body: { transaction?: Transaction; publishedText?: string }): DeliveryEvent => ({
  type: "DeliveryScheduled",
  data: { deliveryId: "d1", webhookId: "w1", transactionId: "t1", subscriptionIds: [], ...body, scheduledAt: 5 },
});
const succeeded: DeliveryEvent = { type: "DeliverySucceeded", data: { deliveryId: "d1", attempt: 1, at: 9 } };

describe("delivery history: the body kept once", () => {
  it("keeps the published text alone, even from a DeliveryScheduled recorded with both", () => {
    for (const body of [{ publishedText: text }, { transaction, publishedText: text }]) {
      const history = [scheduled(body), succeeded].reduce(evolveDeliveryHistory, undefined);
      expect(history).not.toHaveProperty("transaction");
      expect(history?.publishedText).toBe(text);
    }
    const old = [scheduled({ transaction }), succeeded].reduce(evolveDeliveryHistory, undefined);
    expect(old).toMatchObject({ transaction });
    expect(old).not.toHaveProperty("publishedText");
  });

  it("reads as it read when it kept both: the same JSON, key order included", () => {
    // As the fold made it before the body was kept once.
    const before = {
      deliveryId: "d1",
      webhookId: "w1",
      transactionId: "t1",
      transaction,
      publishedText: text,
      scheduledAt: 5,
      status: "succeeded",
      attempts: [],
      finishedAt: 9,
    };
    const now = [scheduled({ publishedText: text }), succeeded].reduce(evolveDeliveryHistory, undefined)!;
    expect(JSON.stringify(withTransaction(now))).toBe(JSON.stringify(before));
    const { publishedText: _text, ...withoutText } = before;
    const old = [scheduled({ transaction }), succeeded].reduce(evolveDeliveryHistory, undefined)!;
    expect(JSON.stringify(withTransaction(old))).toBe(JSON.stringify(withoutText));
  });
});
