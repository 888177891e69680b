/**
 * Waypoint SSE: hold 10,000 idle waiters on one herald (keys no event ever matches), open one more
 * waiter per match to come, then publish the matching tenant events over NATS at a steady rate and
 * time each from publish to the client reading the match. herald runs in this process (so its
 * memory can be measured); the clients run in a child process.
 */
// herald's GraphQL layer (type-graphql) needs the metadata polyfill before it loads.
import "reflect-metadata";
import { fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createTenantToken } from "../src/adapters/auth/tenant-token.js";
import { LogPump } from "../src/adapters/eventstore/log-pump.js";
import { createLogger } from "../src/app/logger.js";
import { WaypointMatcher } from "../src/app/waypoint/waypoint-matcher.js";
import type { TenantEvent } from "../src/domain/ingest-events.js";
import { findWalletGroup } from "../src/projections/wallet-groups.js";
import { countingReads } from "../test/support/counting-reads.js";
import { NATS_URL } from "../test/support/services.js";
import { appendTenantEvents } from "../test/support/tenant-event-appends.js";
import { startTestHerald, type TestHerald } from "../test/support/test-herald.js";
import { latencySummary, machine, progress, round } from "./bench-support.js";

/** Idle waiters, held for the whole run: what the matcher, the index and the sockets carry meanwhile. */
const WAITERS = 10_000;
/** Matching waiters, opened before the first publish: each is answered once and closes. */
const MATCHES = 1_000;
const MATCHES_PER_SECOND = 100;
const SECRET = "bench-tenant-secret";
const GROUP = "bench";
/** Tenant events older than the largest look_back in the store when a process starts (see startUp). */
const OLD_TENANT_EVENTS = 100_000;
const RECENT_TENANT_EVENTS = 1_000;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** JS heap plus off-heap buffers of this process, after a full collection. */
function memoryBytes(): { heapAndExternal: number; rss: number } {
  gc();
  gc();
  const usage = process.memoryUsage();
  return { heapAndExternal: usage.heapUsed + usage.external, rss: usage.rss };
}

export async function run(): Promise<Record<string, unknown>> {
  const herald = await startTestHerald({
    env: {
      HERALD_TENANT_JWT_SECRET: SECRET,
      HERALD_SSE_TIMEOUT_S: "600",
      HERALD_SSE_KEEPALIVE_S: "15",
      // Every waiter comes from this machine on one tenant-admin key: the caps must let them all in.
      HERALD_SSE_MAX_WAITERS_PER_KEY: String(WAITERS + MATCHES),
      HERALD_SSE_MAX_WAITERS_PER_ADDRESS: String(WAITERS + MATCHES),
      LOG_LEVEL: "warn",
    },
  });
  const clients = fork(join(dirname(fileURLToPath(import.meta.url)), "bench-sse-clients.ts"), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const nc = await connect({ servers: NATS_URL });
  try {
    // The first MATCHES waits are answered; the rest wait on keys that no event published here carries.
    const waits = Array.from({ length: MATCHES + WAITERS }, () => ({
      walletId: randomUUID(),
      connectionId: randomUUID(),
    }));
    const apiKey = createTenantToken(SECRET, { kind: "tenant-admin", groupId: GROUP }, { ttlS: 3600 });
    const urls = waits.map(
      (wait) =>
        `${herald.url}/v1/sse/${wait.walletId}/connections/connection_id/${wait.connectionId}/completed?look_back=-1`,
    );

    const before = memoryBytes();
    const connectStarted = performance.now();
    const received = new Map<number, number>();
    const connected = new Promise<number>((resolve) => {
      clients.on("message", (message: { connected?: number; matched?: { index: number; at: number } }) => {
        if (message.connected !== undefined) resolve(message.connected);
        if (message.matched) received.set(message.matched.index, message.matched.at);
      });
    });
    clients.send({ connect: { urls, apiKey, concurrency: 200 } });
    const watch = setInterval(
      () => progress("waiters connecting", herald.herald.waypoint.waiterCount, urls.length),
      500,
    );
    await connected;
    clearInterval(watch);
    progress("waiters connecting", herald.herald.waypoint.waiterCount, urls.length);
    const connectSeconds = (performance.now() - connectStarted) / 1000;
    const heldAtFirstPublish = herald.herald.waypoint.waiterCount;
    const after = memoryBytes();

    // Matches for the first MATCHES waiters, one every 1/rate seconds, without waiting for each.
    const js = jetstream(nc);
    const sentAt = new Map<number, number>();
    const subject = (walletId: string) => `${herald.nats!.tenantSubjectRoot}.${GROUP}.${walletId}`;
    const publishStarted = performance.now();
    for (let index = 0; index < MATCHES; index++) {
      const wait = waits[index]!;
      const event: TenantEvent = {
        wallet_id: wait.walletId,
        topic: "connections",
        origin: "multitenant",
        group_id: GROUP,
        payload: { connection_id: wait.connectionId, state: "completed" },
      };
      const due = publishStarted + (index * 1000) / MATCHES_PER_SECOND;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
      sentAt.set(index, performance.timeOrigin + performance.now());
      await js.publish(subject(wait.walletId), JSON.stringify(event));
      progress("matches published", index + 1, MATCHES);
    }
    const deadline = Date.now() + 30_000;
    while (received.size < MATCHES && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const latencies = [...received].map(([index, at]) => at - sentAt.get(index)!).sort((a, b) => a - b);
    // The idle waiters still held once every match is in: all of them, unless some stream failed.
    const waitersHeld = herald.herald.waypoint.waiterCount;

    return {
      waitersHeld,
      heldAtFirstPublish,
      connectSeconds: round(connectSeconds),
      memoryPerWaiterBytes: {
        heapAndExternal: Math.round((after.heapAndExternal - before.heapAndExternal) / heldAtFirstPublish),
        rss: Math.round((after.rss - before.rss) / heldAtFirstPublish),
      },
      matches: { published: MATCHES, received: received.size, perSecond: MATCHES_PER_SECOND },
      latencyMs: latencySummary(latencies),
      startUp: await startUp(herald),
      path: "NATS publish → JetStream ingest → PostgreSQL append → matcher at commit → SSE",
      machine: machine(),
      // The machine is shared: a load above its core count stretches the tail.
      loadAverage1m: round(loadavg()[0] ?? 0),
    };
  } finally {
    clients.send({ close: true });
    await nc.close();
    await herald.cleanup();
  }
}

/**
 * What a new herald process pays at start-up when the store holds OLD_TENANT_EVENTS tenant events
 * received a day ago and RECENT_TENANT_EVENTS received just now: the SSE matcher alone (events read,
 * window held) and a whole herald start on the same database.
 */
async function startUp(herald: TestHerald): Promise<Record<string, unknown>> {
  const { store } = herald.herald;
  const event = (index: number): TenantEvent => ({
    wallet_id: `bench-wallet-${index % 10_000}`,
    topic: "connections",
    origin: "multitenant",
    group_id: GROUP,
    payload: { connection_id: randomUUID(), state: "completed" },
  });
  await appendTenantEvents(store, OLD_TENANT_EVENTS, Date.now() - 86_400_000, event, (done) =>
    progress("old tenant events appended", done, OLD_TENANT_EVENTS),
  );
  await appendTenantEvents(store, RECENT_TENANT_EVENTS, Date.now(), event);
  // Read models of tenant events catch up first, so that their work does not count as start-up.
  const head = await store.headPosition();
  for (const runner of herald.herald.projections.values()) {
    if (runner.eventTypes.includes("TenantEventReceived")) await runner.waitFor(head, 600_000);
  }

  const counted = countingReads(store);
  const matcherStarted = performance.now();
  const pump = new LogPump({ store: counted.store, logger: createLogger("silent") });
  const matcher = await WaypointMatcher.start({
    store: counted.store,
    pump,
    logger: createLogger("silent"),
    windowS: herald.herald.config.sseMaxLookBackS,
    readWalletGroup: (walletId) => findWalletGroup(herald.herald.database.db, walletId),
  });
  const matcherSeconds = (performance.now() - matcherStarted) / 1000;
  const windowHeld = matcher.windowSize;
  await matcher.stop();

  const heraldStarted = performance.now();
  const second = await herald.restart();
  const heraldSeconds = (performance.now() - heraldStarted) / 1000;
  await second.stop();
  return {
    oldTenantEvents: OLD_TENANT_EVENTS,
    recentTenantEvents: RECENT_TENANT_EVENTS,
    matcherSeconds: round(matcherSeconds, 2),
    matcherEventsRead: counted.eventsRead(),
    windowHeld,
    heraldSeconds: round(heraldSeconds, 2),
  };
}
