import { describe, expect, it } from "vitest";
import {
  parsedTransaction,
  type Transaction,
  transactionBody,
  transactionText,
} from "../../src/domain/ingest-events.js";

/** Spelled as a publisher may: spacing, `1.50`, an integer-like key. Re-serialising changes it. */
const text = '{"status":"SUCCESS" , "events":[],"7":1.50}';
const transaction: Transaction = JSON.parse(text);

describe("a delivery's transaction, carried once", () => {
  it("keeps the published text alone when there is one, else the parsed form (recorded before the text)", () => {
    expect(transactionBody({ transaction, publishedText: text })).toStrictEqual({ publishedText: text });
    expect(transactionBody({ publishedText: text })).toStrictEqual({ publishedText: text });
    expect(transactionBody({ transaction })).toStrictEqual({ transaction });
  });

  it("sends the text as published, or the parsed form serialised when there is no text", () => {
    expect(transactionText({ publishedText: text })).toBe(text);
    expect(transactionText({ transaction, publishedText: text })).toBe(text);
    expect(transactionText({ transaction })).toBe(JSON.stringify(transaction));
  });

  it("gives the object: the parsed form when recorded, else the text parsed, byte-order mark and all", () => {
    expect(parsedTransaction({ publishedText: text })).toEqual(transaction);
    expect(parsedTransaction({ publishedText: `\uFEFF${text}` })).toEqual(transaction);
    const recorded = { ...transaction, status: "as recorded" };
    expect(parsedTransaction({ transaction: recorded, publishedText: text })).toBe(recorded);
    expect(parsedTransaction({ transaction })).toBe(transaction);
  });

  it("refuses a delivery with neither, saying so", () => {
    for (const read of [transactionBody, transactionText, parsedTransaction])
      expect(() => read({})).toThrow(/neither transaction nor publishedText/);
  });
});
