import { expect, it } from "vitest";
import { AppendBatcher } from "../../../src/adapters/eventstore/append-batcher.js";
import { AppendManyIncompleteError, type AppendOutcome, type EventStore } from "../../../src/adapters/eventstore/event-store.js";

const metadata = { correlationId: "c", causationId: "c", actor: "test", at: "2026-11-24T00:00:00.000Z" };
const request = (stream: string) => ({ stream, events: [{ type: "A", data: {}, metadata }], expectedRevision: "any" as const });

it("when appendMany stops part way, the appends that were written resolve; only the others reject", async () => {
  const written: AppendOutcome = { ok: true, result: { nextRevision: 0n, position: { commit: 1n, prepare: 1n } } };
  const cause = new Error("server went away");
  const store = {
    appendMany: async () => {
      throw new AppendManyIncompleteError([written, undefined], { cause });
    },
  } as unknown as EventStore;
  const batcher = new AppendBatcher(store);
  const [first, second] = await Promise.allSettled([batcher.append(request("a")), batcher.append(request("b"))]);
  expect(first).toEqual({ status: "fulfilled", value: written });
  expect(second).toMatchObject({ status: "rejected", reason: { code: "APPEND_MANY_INCOMPLETE" } });
});
