import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  eventTypeFilter,
  FORWARDS,
  jsonEvent,
  START,
  streamNameFilter,
  WrongExpectedVersionError,
} from "@eventstore/db-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EsdbTestServer, startEsdbTestServer } from "./index.js";

/**
 * The test server's protocol behaviour as the real client sees it, on the points the adapter's
 * contract suite does not reach directly.
 */
describe("EventStoreDB protocol test server", () => {
  let server: EsdbTestServer;
  let client: EventStoreDBClient;

  beforeAll(async () => {
    server = await startEsdbTestServer();
    client = EventStoreDBClient.connectionString(server.url);
  });
  afterAll(async () => {
    await client?.dispose();
    await server?.stop();
  });

  it("answers a wrong expected revision with the stream's actual revision (BatchAppend status details)", async () => {
    const stream = `wev-${Date.now()}`;
    await client.appendToStream(stream, [jsonEvent({ type: "A", data: {} }), jsonEvent({ type: "A", data: {} })]);
    const error = await client
      .appendToStream(stream, jsonEvent({ type: "A", data: {} }), { expectedRevision: 0n })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
    expect((error as WrongExpectedVersionError).actualVersion).toBe(1n);
    expect((error as WrongExpectedVersionError).expectedVersion).toBe(0n);
  });

  it("reads $all forwards from a position inclusively and backwards from it exclusively", async () => {
    const stream = `pos-${Date.now()}`;
    await client.appendToStream(
      stream,
      [1, 2, 3].map((n) => jsonEvent({ type: "N", data: { n } })),
    );
    const events = [];
    for await (const resolved of client.readStream(stream)) events.push(resolved.event!);
    const middle = events[1]!.position!;
    const forwards = [];
    for await (const resolved of client.readAll({ fromPosition: middle, direction: FORWARDS, maxCount: 2 }))
      forwards.push(resolved.event!.revision);
    expect(forwards).toEqual([1n, 2n]);
    const backwards = [];
    for await (const resolved of client.readAll({ fromPosition: middle, direction: BACKWARDS, maxCount: 1 }))
      backwards.push(resolved.event!.revision);
    expect(backwards).toEqual([0n]);
    const last = [];
    for await (const resolved of client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 }))
      last.push(resolved.event!.revision);
    expect(last).toEqual([2n]);
  });

  it("subscribes: confirmation, exclusive start, caught-up, live events, and checkpoints while filtered events pass", async () => {
    const stream = `sub-${Date.now()}`;
    const first = await client.appendToStream(
      stream,
      [1, 2].map((n) => jsonEvent({ type: "Wanted", data: { n } })),
    );
    const checkpoints: bigint[] = [];
    const signals: string[] = [];
    const subscription = client.subscribeToAll({
      fromPosition: first.position!,
      filter: eventTypeFilter({
        prefixes: ["Wanted"],
        maxSearchWindow: 4,
        checkpointReached: (_s, position) => void checkpoints.push(position.commit),
      }),
    });
    subscription.on("confirmation", () => signals.push("confirmation")).on("caughtUp", () => signals.push("caughtUp"));
    await client.appendToStream(
      stream,
      [3].map((n) => jsonEvent({ type: "Wanted", data: { n } })),
    );
    await client.appendToStream(
      `${stream}-noise`,
      Array.from({ length: 10 }, () => jsonEvent({ type: "Noise", data: {} })),
    );
    await client.appendToStream(
      stream,
      [4].map((n) => jsonEvent({ type: "Wanted", data: { n } })),
    );
    const seen: number[] = [];
    for await (const resolved of subscription) {
      seen.push((resolved.event!.data as { n: number }).n);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([3, 4]);
    expect(signals[0]).toBe("confirmation");
    expect(signals).toContain("caughtUp");
    expect(checkpoints.length).toBeGreaterThanOrEqual(2);
  });

  it("filters a subscription by stream prefix from the start", async () => {
    const prefix = `pre-${Date.now()}`;
    await client.appendToStream(`${prefix}-a`, jsonEvent({ type: "A", data: {} }));
    await client.appendToStream(`other-${prefix}`, jsonEvent({ type: "A", data: {} }));
    await client.appendToStream(`${prefix}-b`, jsonEvent({ type: "A", data: {} }));
    const streams: string[] = [];
    for await (const resolved of client.subscribeToAll({
      fromPosition: START,
      filter: streamNameFilter({ prefixes: [prefix] }),
    })) {
      streams.push(resolved.event!.streamId);
      if (streams.length === 2) break;
    }
    expect(streams).toEqual([`${prefix}-a`, `${prefix}-b`]);
  });
});
