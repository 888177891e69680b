import { randomBytes } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { loadConfig } from "../../src/app/config.js";
import { type Herald, startHerald } from "../../src/app/herald.js";
import { createLogger } from "../../src/app/logger.js";
import { NATS_URL } from "./services.js";
import { createTestDatabase, type TestDatabase } from "./test-database.js";

/** NATS names of this test run's own, so parallel runs never share a stream or a subject. */
export interface NatsTestNames {
  readonly prefix: string;
  readonly env: Record<string, string>;
  readonly txSubject: string;
  readonly tenantSubjectRoot: string;
  /** Deletes the streams this run created. */
  cleanup(): Promise<void>;
}

export function natsTestNames(): NatsTestNames {
  const prefix = `t${randomBytes(5).toString("hex")}`;
  const txStream = `${prefix.toUpperCase()}_TX`;
  const tenantStream = `${prefix.toUpperCase()}_TENANT`;
  const txSubject = `${prefix}.asset-register.transactions`;
  const tenantSubjectRoot = `${prefix}.cloudapi.aries.events`;
  return {
    prefix,
    txSubject,
    tenantSubjectRoot,
    env: {
      NATS_URL,
      HERALD_TX_SUBJECT: txSubject,
      HERALD_TX_STREAM: txStream,
      HERALD_TENANT_EVENTS_SUBJECT: `${tenantSubjectRoot}.*.*`,
      HERALD_TENANT_EVENTS_STREAM: tenantStream,
      HERALD_NATS_DURABLE: `herald-${prefix}`,
    },
    async cleanup() {
      const nc = await connect({ servers: NATS_URL });
      try {
        const manager = await jetstreamManager(nc);
        for (const stream of [txStream, tenantStream]) await manager.streams.delete(stream).catch(() => false);
      } finally {
        await nc.close();
      }
    },
  };
}

export interface TestHerald {
  readonly herald: Herald;
  readonly url: string;
  readonly database: TestDatabase;
  readonly nats: NatsTestNames | undefined;
  readonly env: Record<string, string>;
  /** Captured log lines (JSON), for assertions such as "no secret was logged". */
  readonly logs: string[];
  /** Stops herald; the database survives so that a restart sees the same data. */
  stop(): Promise<void>;
  /** Starts another herald process-equivalent on the same database and NATS names. */
  restart(): Promise<TestHerald>;
  /** Stops herald and removes the database and NATS streams. */
  cleanup(): Promise<void>;
}

export interface TestHeraldOptions {
  readonly env?: Record<string, string>;
  /** Connect to NATS with names of this run's own (default true). */
  readonly nats?: boolean;
}

export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString("base64");
export const TEST_INGEST_TOKEN = "test-ingest-token";

/** POSTs a transaction to herald's /v1/transactions; `key` is the idempotency key, so each key makes a transaction of its own. */
export function ingestOverHttp(heraldUrl: string, transaction: unknown, key: string): Promise<Response> {
  return fetch(`${heraldUrl}/v1/transactions`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${TEST_INGEST_TOKEN}`,
      "content-type": "application/json",
      "idempotency-key": key,
    },
    body: JSON.stringify(transaction),
  });
}

/**
 * herald in this process on a database of the test's own, with real PostgreSQL and NATS. Tests talk
 * to it over HTTP at `url`.
 */
export async function startTestHerald(options: TestHeraldOptions = {}): Promise<TestHerald> {
  const database = await createTestDatabase();
  const nats = options.nats === false ? undefined : natsTestNames();
  const env: Record<string, string> = {
    PORT: "0",
    DATABASE_URL: database.url,
    HERALD_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    HERALD_INGEST_TOKEN: TEST_INGEST_TOKEN,
    HERALD_ALLOW_PRIVATE_TARGETS: "true",
    LOG_LEVEL: "info",
    ...nats?.env,
    ...options.env,
  };
  try {
    return await launch(env, database, nats);
  } catch (error) {
    await nats?.cleanup();
    await database.drop();
    throw error;
  }
}

async function launch(
  env: Record<string, string>,
  database: TestDatabase,
  nats: NatsTestNames | undefined,
): Promise<TestHerald> {
  const logs: string[] = [];
  const logger = createLogger(env.LOG_LEVEL ?? "info", { write: (line: string) => void logs.push(line) });
  const herald = await startHerald(loadConfig(env), logger);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await herald.stop();
  };
  return {
    herald,
    url: herald.url,
    database,
    nats,
    env,
    logs,
    stop,
    restart: () => launch(env, database, nats),
    async cleanup() {
      await stop();
      await nats?.cleanup();
      await database.drop();
    },
  };
}
