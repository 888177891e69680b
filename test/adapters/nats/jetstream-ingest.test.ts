import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openPostgres } from "../../../src/adapters/db/database.js";
import { migrate } from "../../../src/adapters/db/migrations.js";
import { eventMetadata } from "../../../src/adapters/eventstore/event-metadata.js";
import type { AnyEvent, AppendedRequest, EventStore, NewEvent } from "../../../src/adapters/eventstore/event-store.js";
import { comparePositions } from "../../../src/adapters/eventstore/position.js";
import { createPostgresEventStore } from "../../../src/adapters/eventstore/postgres-event-store.js";
import {
  type DecodedMessage,
  type IngestOutcome,
  type JetStreamIngest,
  type ReceivedMessage,
  startJetStreamIngest,
} from "../../../src/adapters/nats/jetstream-ingest.js";
import { natsIngestCodec } from "../../../src/app/ingest.js";
import { createLogger } from "../../../src/app/logger.js";
import { useEventLogDatabase } from "../../support/event-log-database.js";
import { postgresProxy } from "../../support/postgres-proxy.js";
import { NATS_URL } from "../../support/services.js";
import { createTestDatabase } from "../../support/test-database.js";
import { natsTestNames } from "../../support/test-herald.js";

const logger = createLogger("silent");
const codec = natsIngestCodec("transactions", 65_536);

/**
 * A decoder that lets everything through to the store unchecked, as herald's did before it refused
 * un-storable JSON at decode: what the store refuses now reaches the consumer's own defence.
 */
const unchecked = (message: ReceivedMessage): DecodedMessage => ({
  request: {
    stream: `raw-${message.messageId}`,
    expectedRevision: "no_stream",
    // Not one of herald's events: this decoder leaves out the checks that make one.
    events: [
      {
        type: "RawReceived",
        data: JSON.parse(Buffer.from(message.body).toString("utf8")),
        metadata: eventMetadata("test"),
      } as NewEvent<AnyEvent> as NewEvent,
    ],
  },
});

const good = (index: number) => JSON.stringify({ status: "SUCCESS", events: [], index });
const POISON = ['{"label":"a\\u0000b"}', '{"label":"\\udc00"}', '{"\\ud800":1}'];

describe("JetStream ingest", () => {
  const log = useEventLogDatabase();
  let nc: NatsConnection;
  const running: JetStreamIngest[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    nc = await connect({ servers: NATS_URL });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((ingest) => ingest.stop()));
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  afterAll(async () => {
    await nc?.close();
  });

  async function start(
    store: EventStore,
    overrides: Partial<Parameters<typeof startJetStreamIngest>[0]> = {},
    names = natsTestNames(),
  ) {
    cleanups.push(() => names.cleanup());
    const outcomes: IngestOutcome[] = [];
    const stream = names.env.HERALD_TX_STREAM!;
    const durable = `${names.env.HERALD_NATS_DURABLE}-tx`;
    const ingest = await startJetStreamIngest({
      nats: nc,
      store,
      logger,
      stream,
      subject: names.txSubject,
      durable,
      decode: unchecked,
      refuse: codec.refuse,
      onOutcome: (outcome) => outcomes.push(outcome),
      maxBatch: 64,
      ...overrides,
    });
    running.push(ingest);
    const js = jetstream(nc);
    let published = 0;
    const publish = async (bodies: readonly string[]) => {
      for (const body of bodies) await js.publish(names.txSubject, body, { msgID: `${names.prefix}-${published++}` });
    };
    const consumerInfo = async () => (await jetstreamManager(nc)).consumers.info(stream, durable);
    return {
      ingest,
      outcomes,
      publish,
      consumerInfo,
      names,
      streamOf: (index: number) => `raw-${names.prefix}-${index}`,
    };
  }

  it("sets aside a message the store refuses for good, records it as rejected, and appends every other one of its batch", async () => {
    const { outcomes, publish, consumerInfo, streamOf } = await start(log.store);
    const bodies = Array.from({ length: 60 }, (_, index) =>
      index % 20 === 7 ? POISON[(index / 20) | 0]! : good(index),
    );
    await publish(bodies);
    await expect.poll(() => outcomes.length).toBe(bodies.length);

    expect(outcomes.filter((outcome) => outcome.kind === "accepted")).toHaveLength(57);
    expect(outcomes.filter((outcome) => outcome.kind === "rejected")).toEqual(
      Array(3).fill({ kind: "rejected", code: "store_refused" }),
    );
    for (const [index, body] of bodies.entries()) {
      const stored = await log.store.readStream(streamOf(index));
      expect(stored.map((event) => event.data)).toEqual(POISON.includes(body) ? [] : [JSON.parse(body)]);
    }
    // The global log shows an append once every earlier-started one has ended: wait for all three.
    const readRejections = () =>
      log.store.readAll("start", { filter: { eventTypes: ["TransactionRejected"] }, maxCount: 100 });
    await expect.poll(async () => (await readRejections()).length).toBe(3);
    const rejections = await readRejections();
    expect(rejections.map((event) => (event.data as { reason: string }).reason)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^the event store refused it: error 22P05$/),
        expect.stringMatching(/22P02$/),
      ]),
    );
    const info = await consumerInfo();
    expect([info.num_pending, info.num_ack_pending]).toEqual([0, 0]);
  });

  it("hands each committed append's requests and outcomes to onAppended before acknowledging their messages", async () => {
    const calls: { appended: readonly AppendedRequest[]; settledBefore: number }[] = [];
    let settled: IngestOutcome[] = [];
    const { outcomes, publish, streamOf } = await start(log.store, {
      onAppended: (appended) => void calls.push({ appended, settledBefore: settled.length }),
    });
    settled = outcomes;
    await publish([good(0), good(1), good(2)]);
    await expect.poll(() => outcomes.length).toBe(3);

    const appended = calls.flatMap((call) => call.appended);
    expect(appended.map(({ request }) => request.stream).sort()).toEqual([0, 1, 2].map(streamOf).sort());
    for (const { request, outcome } of appended) {
      const [stored] = await log.store.readStream(request.stream);
      expect(outcome.ok && comparePositions(outcome.result.position, stored!.position)).toBe(0);
    }
    // Each call came before any message of its batch was acknowledged.
    let before = 0;
    for (const call of calls) {
      expect(call.settledBefore).toBe(before);
      before += call.appended.length;
    }
  });

  it("terminates a message when not even the record of its rejection can be stored, and moves on", async () => {
    const { outcomes, publish, consumerInfo } = await start(log.store, { refuse: (message) => unchecked(message) });
    await publish([good(1), POISON[0]!, good(2)]);
    await expect.poll(() => outcomes.length).toBe(3);
    expect(outcomes.map((outcome) => outcome.kind).sort()).toEqual(["accepted", "accepted", "dropped"]);
    await expect.poll(async () => (await consumerInfo()).num_ack_pending).toBe(0);
    const info = await consumerInfo();
    expect([info.num_pending, info.num_redelivered]).toEqual([0, 0]);
  });

  it("retries while the store is down, reports itself stalled, and stops at once without acknowledging", async () => {
    const proxy = await postgresProxy();
    const testDatabase = await createTestDatabase();
    const database = await openPostgres(proxy.url(testDatabase.url));
    await migrate(database.db);
    const store = await createPostgresEventStore(database);
    cleanups.push(async () => {
      await store.close();
      await database.close();
      await testDatabase.drop();
    });

    const { ingest, outcomes, publish, names } = await start(store, { decode: codec.decode, stallAfterMs: 300 });
    await publish([good(1)]);
    await expect.poll(() => outcomes.length).toBe(1);
    expect(ingest.status()).toEqual({ waiting: 0, stalled: false });

    proxy.down();
    await publish([good(2), good(3)]);
    await expect.poll(() => ingest.status()).toEqual({ waiting: 2, stalled: true });

    // Stop returns while the append still fails; the liveness bound is the test's own timeout.
    await ingest.stop();
    running.splice(running.indexOf(ingest), 1);
    expect(outcomes).toHaveLength(1);
    proxy.close();
    // Handed back to NATS (nak), not lost: the next consumer on a working store takes them at once,
    // not after the 30 s ack wait (which would outlast the poll).
    const next = await start(log.store, { decode: codec.decode }, names);
    await expect.poll(() => next.outcomes.length).toBe(2);
    expect(next.outcomes).toEqual([{ kind: "accepted" }, { kind: "accepted" }]);
  });
});
