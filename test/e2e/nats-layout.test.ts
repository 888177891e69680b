import { randomUUID } from "node:crypto";
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenantToken } from "../../src/adapters/auth/tenant-token.js";
import { NatsLayoutError } from "../../src/adapters/nats/jetstream-ingest.js";
import { subjectsOverlap } from "../../src/domain/nats-subjects.js";
import { NATS_URL, POSTGRES_URL } from "../support/services.js";
import { SseListener } from "../support/sse-listener.js";
import { createTestDatabase } from "../support/test-database.js";
import { natsTestNames, startTestHerald } from "../support/test-herald.js";

const SECRET = "nats-layout-tenant-secret";

async function connectionsTo(database: string): Promise<number> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ count: string }>("select count(*) from pg_stat_activity where datname = $1", [
      database,
    ]);
    return Number(rows[0]?.count);
  } finally {
    await client.end();
  }
}

/**
 * herald on acapy-cloud's NATS layout: the stream `cloudapi_aries_events` on `cloudapi.aries.events.*.*`
 * exists before herald starts (here under a prefix of this run's own), and herald must attach to it.
 */
describe("NATS layout", () => {
  let nc: NatsConnection;
  let manager: JetStreamManager;

  beforeAll(async () => {
    nc = await connect({ servers: NATS_URL });
    manager = await jetstreamManager(nc);
  });
  afterAll(async () => {
    await nc?.close();
  });

  async function streamsNear(subject: string): Promise<{ name: string; subjects: string[] }[]> {
    const found: { name: string; subjects: string[] }[] = [];
    for await (const info of manager.streams.list()) {
      const subjects = info.config.subjects ?? [];
      if (subjects.some((filter) => subjectsOverlap(filter, subject))) found.push({ name: info.config.name, subjects });
    }
    return found;
  }

  /** Waits through herald's SSE for an event published on `<root>.<group>.<wallet>`. */
  async function publishedEventReachesWaiter(url: string, root: string): Promise<void> {
    const walletId = randomUUID();
    const event = {
      wallet_id: walletId,
      topic: "connections",
      origin: "multitenant",
      group_id: "acme",
      payload: { connection_id: randomUUID(), state: "completed" },
    };
    const listener = new SseListener(
      url,
      walletId,
      "connections",
      createTenantToken(SECRET, { kind: "tenant", walletId }),
    );
    const waiting = listener.waitForEvent("connection_id", event.payload.connection_id, "completed");
    await jetstream(nc).publish(`${root}.acme.${walletId}`, JSON.stringify(event));
    expect((await waiting).payload).toEqual(event.payload);
  }

  it("given acapy-cloud's stream on <prefix>.*.*, then herald attaches to it, creates nothing overlapping, and its events reach waiters", async () => {
    const names = natsTestNames();
    const acapyStream = `${names.prefix}_cloudapi_aries_events`;
    const subject = `${names.tenantSubjectRoot}.*.*`;
    await manager.streams.add({ name: acapyStream, subjects: [subject] });
    // herald's configured stream name differs: it must still use acapy-cloud's, not create its own.
    const herald = await startTestHerald({ env: { ...names.env, HERALD_TENANT_JWT_SECRET: SECRET } });
    try {
      expect(await streamsNear(subject)).toEqual([{ name: acapyStream, subjects: [subject] }]);
      await publishedEventReachesWaiter(herald.url, names.tenantSubjectRoot);
    } finally {
      await herald.cleanup();
      await manager.streams.delete(acapyStream);
    }
  });

  it("given no stream for the subject, then herald creates its own on <prefix>.*.* and its events reach waiters", async () => {
    const herald = await startTestHerald({ env: { HERALD_TENANT_JWT_SECRET: SECRET } });
    try {
      const subject = `${herald.nats!.tenantSubjectRoot}.*.*`;
      expect(await streamsNear(subject)).toEqual([
        { name: herald.env.HERALD_TENANT_EVENTS_STREAM, subjects: [subject] },
      ]);
      await publishedEventReachesWaiter(herald.url, herald.nats!.tenantSubjectRoot);
    } finally {
      await herald.cleanup();
    }
  });

  it("given a subject the existing stream only overlaps (herald's old default `.>`), then start-up fails in one line naming the stream and the subject", async () => {
    const names = natsTestNames();
    const acapyStream = `${names.prefix}_cloudapi_aries_events`;
    await manager.streams.add({ name: acapyStream, subjects: [`${names.tenantSubjectRoot}.*.*`] });
    const database = await createTestDatabase();
    try {
      const starting = startTestHerald({
        env: { ...names.env, DATABASE_URL: database.url, HERALD_TENANT_EVENTS_SUBJECT: `${names.tenantSubjectRoot}.>` },
      });
      const error = await starting.then(
        async (herald) => {
          await herald.cleanup();
          return undefined;
        },
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(NatsLayoutError);
      const message = (error as Error).message;
      expect(message).toContain(acapyStream);
      expect(message).toContain(`${names.tenantSubjectRoot}.>`);
      expect(message).not.toContain("\n");
      expect(await streamsNear(`${names.tenantSubjectRoot}.>`)).toEqual([
        { name: acapyStream, subjects: [`${names.tenantSubjectRoot}.*.*`] },
      ]);
      // The half-started herald stopped what it had started: no connection to its database is left.
      expect(await connectionsTo(database.name)).toBe(0);
    } finally {
      await database.drop();
      await names.cleanup();
      await manager.streams.delete(acapyStream);
    }
  });
});
