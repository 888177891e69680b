import type { NatsConnection } from "@nats-io/transport-node";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { SiweTokenVerifier } from "../adapters/auth/siwe-token.js";
import { createSecretBox } from "../adapters/crypto/secret-box.js";
import type { Database } from "../adapters/db/database.js";
import { AppendBatcher, batchedStore } from "../adapters/eventstore/append-batcher.js";
import type { EventStore } from "../adapters/eventstore/event-store.js";
import { LogPump } from "../adapters/eventstore/log-pump.js";
import { createWebhookSender } from "../adapters/http/webhook-sender.js";
import { type JetStreamIngest, startJetStreamIngest } from "../adapters/nats/jetstream-ingest.js";
import { connectNats } from "../adapters/nats/nats-connection.js";
import type { AttemptResult } from "../domain/retry-policy.js";
import { countDeliveriesByStatus, deliveryHistoryProjection } from "../projections/delivery-history.js";
import { deliveryQueueStats } from "../projections/delivery-queue.js";
import { ProjectionGroup, type ProjectionMember } from "../projections/projection-group.js";
import { recoveryRequestsProjection } from "../projections/recovery-requests.js";
import { findWalletGroup } from "../projections/wallet-groups.js";
import { webhookEndpointsProjection } from "../projections/webhook-endpoints.js";
import { webhookSubscriptionsProjection } from "../projections/webhook-subscriptions.js";
import { allProjections } from "./all-projections.js";
import type { Config } from "./config.js";
import { registerConsole } from "./console/register-console.js";
import { startDeliveryDirectory } from "./delivery-directory.js";
import { DeliveryRecovery } from "./delivery-recovery.js";
import { type DeliveryWorker, startDeliveryWorker } from "./delivery-worker.js";
import { EndpointCache } from "./endpoint-cache.js";
import { armFaultPoint } from "./fault-injection.js";
import { GRAPHQL_PATH, registerGraphql } from "./graphql/register-graphql.js";
import { createHttpServer, type ReadinessCheck } from "./http-server.js";
import { type IngestCounter, type IngestKind, natsIngestCodec, registerIngestRoutes } from "./ingest.js";
import { ingestScheduler } from "./ingest-scheduler.js";
import { MetricsRegistry } from "./metrics.js";
import { openStorage } from "./open-storage.js";
import { registerPlayground } from "./playground/register-playground.js";
import { WaypointMatcher } from "./waypoint/waypoint-matcher.js";
import { registerWaypointRoutes } from "./waypoint/waypoint-routes.js";
import { WebhookCommands } from "./webhook-commands.js";

/** A running herald process: what the CLI, main and the e2e tests hold on to. */
export interface Herald {
  readonly url: string;
  readonly config: Config;
  /** The API's handle (on PostgreSQL its own pool; the projections and the worker have theirs). */
  readonly database: Database;
  readonly store: EventStore;
  readonly http: FastifyInstance;
  readonly projections: ReadonlyMap<string, ProjectionMember>;
  /** Every projection, led by one process at a time (the map above is its members). */
  readonly projectionGroup: ProjectionGroup;
  readonly metrics: MetricsRegistry;
  /** The SSE matcher (its waiter count is a metric). */
  readonly waypoint: WaypointMatcher;
  /** Stops taking work, finishes what is in flight, closes every connection. */
  stop(): Promise<void>;
}

/**
 * The composition root: the only place that creates connections and wires the parts together.
 */
export async function startHerald(config: Config, logger: Logger): Promise<Herald> {
  armFaultPoint(config.faultAt);
  const started: Closer[] = [];
  try {
    return await assembleHerald(config, logger, started);
  } catch (error) {
    // A start that fails half way (a NATS layout herald cannot use, a port in use) leaves nothing
    // running: what started is stopped, newest first, and the first error is the one reported.
    for (const close of started.reverse()) await close().catch(() => {});
    throw error;
  }
}

/** Stops one part that start-up has already started. */
type Closer = () => Promise<unknown>;

async function assembleHerald(config: Config, logger: Logger, started: Closer[]): Promise<Herald> {
  const storage = await openStorage(config, logger, { splitRoles: true });
  started.push(() => storage.close());
  // The API's handle; the projections and the worker have their own (PostgreSQL: a pool per role).
  const { database, store, roles } = storage;
  // One group commit for the whole process: ingest, the worker, the reactors and the commands append
  // through it, so that concurrent small appends share a commit whoever makes them. Drained after
  // everything that appends through it has stopped, before the store closes.
  const appends = new AppendBatcher(store);
  started.push(() => appends.drain());
  const batched = batchedStore(store, appends);
  let nats: NatsConnection | undefined;
  if (config.natsUrl) {
    const connection = await connectNats(config.natsUrl);
    started.push(() => connection.drain());
    nats = connection;
  }

  const metrics = new MetricsRegistry();
  const repairs = metrics.counter(
    "herald_dispatch_repairs_total",
    "Deliveries the dispatch auditor scheduled because ingest had not (EventStoreDB crash or race windows; 0 on PostgreSQL)",
  );
  // Shown from the start: 0 is the figure an operator checks for.
  repairs.inc({}, 0);
  // One reader of the log for the whole process; the projection group is one of its consumers.
  const pump = new LogPump({ store, logger: logger.child({ component: "log-pump" }) });
  const projectionGroup = new ProjectionGroup({
    database: roles.projections,
    store,
    pump,
    ...allProjections({ store: batched, logger, config, onDispatchRepairs: (count) => repairs.inc({}, count) }),
    logger: logger.child({ component: "projection" }),
  });
  const projections = projectionGroup.members;

  const readiness: ReadinessCheck[] = [
    { name: "eventstore", check: () => store.ping() },
    {
      name: "database",
      check: async () =>
        void (await database.db.selectFrom("herald_checkpoints").select("projection").limit(1).execute()),
    },
  ];
  if (nats) {
    const connection = nats;
    readiness.push({
      name: "nats",
      check: async () => {
        if (connection.isClosed()) throw new Error("NATS connection closed");
        await connection.flush();
      },
    });
  }
  const http = createHttpServer({
    logger,
    readiness,
    bodyLimit: config.maxPayloadBytes + 1024,
    timeouts: {
      headersMs: config.httpHeadersTimeoutMs,
      requestMs: config.httpRequestTimeoutMs,
      connectionMs: config.httpConnectionTimeoutMs,
    },
  });
  started.push(() => http.close());
  const waypoint = await WaypointMatcher.start({
    store,
    pump,
    logger: logger.child({ component: "waypoint" }),
    windowS: config.sseMaxLookBackS,
    readWalletGroup: (walletId) => findWalletGroup(database.db, walletId),
  });
  started.push(() => waypoint.stop());
  /** Gauges read from the store and the database: one read serves every scrape for a few seconds. */
  const fromStorage = { cacheMs: METRICS_STORAGE_CACHE_MS };
  const ingested = metrics.counter(
    "herald_ingested_total",
    "Messages ingested, by kind, source and outcome (accepted, rejected, dropped)",
  );
  const rejected = metrics.counter(
    "herald_ingest_rejected_total",
    "Messages refused and recorded as rejected, by kind, source and reason",
  );
  const countIngest: IngestCounter = (kind, source, outcome) => {
    ingested.inc({ kind, source, outcome: outcome.kind });
    if (outcome.kind === "rejected") rejected.inc({ kind, source, reason: outcome.code });
  };
  metrics.gauge(
    "herald_projection_lag_seconds",
    "Age of the oldest event a projection has not read past yet (0 when caught up)",
    async () =>
      [...(await projectionGroup.lagSeconds())].map(([projection, value]) => ({ labels: { projection }, value })),
    fromStorage,
  );
  metrics.gauge("herald_sse_waiters", "Open Waypoint SSE requests waiting for their event", () => [
    { value: waypoint.waiterCount },
  ]);
  const sseRequests = metrics.counter("herald_sse_requests_total", "Waypoint SSE requests, by how they ended");
  // Deliveries and the queue are read from the database, so every process reports the whole cluster.
  metrics.gauge(
    "herald_deliveries",
    "Deliveries by status (pending, paused, succeeded, failed)",
    async () =>
      (await countDeliveriesByStatus(database.db)).map(({ status, count }) => ({ labels: { status }, value: count })),
    fromStorage,
  );
  metrics.gauge(
    "herald_delivery_queue_depth",
    "Pending deliveries in the queue, due or not",
    async () => [{ value: (await deliveryQueueStats(database.db)).depth }],
    fromStorage,
  );
  metrics.gauge(
    "herald_delivery_queue_oldest_due_seconds",
    "How long the most overdue pending delivery has been due (0 when none is)",
    async () => [{ value: (await deliveryQueueStats(database.db)).oldestDueS }],
    fromStorage,
  );
  const attemptSeconds = metrics.histogram(
    "herald_delivery_attempt_duration_seconds",
    "Webhook attempt latency in this process, by outcome class (2xx, 4xx, 5xx, error)",
    [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  );
  const deferred = metrics.counter(
    "herald_delivery_deferred_total",
    "Due deliveries this process claimed and put back because their endpoint was at its limit, by reason (endpoint_concurrency, rate_limit)",
  );
  http.get("/metrics", async (_request, reply) => reply.type("text/plain; version=0.0.4").send(await metrics.render()));
  registerWaypointRoutes(http, {
    matcher: waypoint,
    count: (outcome) => sseRequests.inc({ outcome }),
    tenantJwtSecret: config.tenantJwtSecret,
    tenantAdminApiKey: config.tenantAdminApiKey,
    timeoutS: config.sseTimeoutS,
    keepaliveS: config.sseKeepaliveS,
    maxLookBackS: config.sseMaxLookBackS,
    maxWaiters: { perKey: config.sseMaxWaitersPerKey, perAddress: config.sseMaxWaitersPerAddress },
  });

  const secrets = createSecretBox(config.encryptionKey);
  const runner = (name: string): ProjectionMember[] => {
    const found = projections.get(name);
    return found ? [found] : [];
  };
  await registerGraphql(http, {
    commands: new WebhookCommands({
      store: batched,
      secrets,
      rules: { allowPrivateTargets: config.allowPrivateTargets },
      db: database.db,
      quotas: {
        endpointsPerSubscriber: config.maxEndpointsPerSubscriber,
        subscriptionsPerEndpoint: config.maxSubscriptionsPerEndpoint,
      },
      endpointReadModels: runner(webhookEndpointsProjection.name),
      subscriptionReadModels: runner(webhookSubscriptionsProjection.name),
      logger: logger.child({ component: "webhook-commands" }),
    }),
    recovery: new DeliveryRecovery({
      store: batched,
      db: database.db,
      historyReadModels: runner(deliveryHistoryProjection.name),
      recoveryReadModels: runner(recoveryRequestsProjection.name),
      logger: logger.child({ component: "delivery-recovery" }),
    }),
    db: database.db,
    store,
    secrets,
    verifier: new SiweTokenVerifier({
      domain: config.siweDomain,
      chainIds: config.siweChainIds,
      maxTtlS: config.siweMaxTtlS,
    }),
    adminAddresses: config.adminAddresses,
    auditorAddresses: config.auditorAddresses,
    playground: config.playground,
    maxResponseBytes: config.graphqlMaxResponseBytes,
    logger,
  });
  const siweSettings = {
    siweDomain: config.siweDomain,
    siweChainIds: config.siweChainIds ?? null,
    siweMaxTtlS: config.siweMaxTtlS,
  };
  if (config.playground) registerPlayground(http, { path: GRAPHQL_PATH, settings: siweSettings, logger });
  if (config.console) registerConsole(http, { settings: { ...siweSettings, graphqlPath: GRAPHQL_PATH }, logger });

  projectionGroup.start();
  pump.start();
  started.push(
    () => pump.stop(),
    () => projectionGroup.stop(),
  );
  await projectionGroup.ready();
  const worker: DeliveryWorker = await startDeliveryWorker({
    database: roles.worker,
    store,
    appends,
    sender: createWebhookSender({
      timeoutMs: config.deliveryTimeoutMs,
      allowPrivateTargets: config.allowPrivateTargets,
      // Endpoints on one host share an origin, hence a pool: capped at one endpoint's limit, a hanging
      // endpoint would hold every connection and stall the others there. The worker already caps
      // attempts per endpoint and in all, so the pool may take as many as the worker runs.
      connectionsPerOrigin: config.workerConcurrency,
    }),
    secretBox: secrets,
    onAttempt: (report) => attemptSeconds.observe(report.durationMs / 1000, { outcome: outcomeClass(report.result) }),
    onDeferred: (reason, count) => deferred.inc({ reason }, count),
    logger: logger.child({ component: "delivery-worker" }),
    config,
  });
  started.push(() => worker.stop());
  // Every process schedules what it ingests, standby or not, from its own copy of the subscriptions,
  // and hands what it scheduled to its own worker.
  const deliveryDirectory = await startDeliveryDirectory({ pump, db: roles.worker.db });
  started.push(async () => deliveryDirectory.stop());
  const endpoints = EndpointCache.follow({ store, pump, from: await store.headPosition() });
  started.push(async () => endpoints.stop());
  const ingestAppend = ingestScheduler({
    store: batched,
    directory: deliveryDirectory.directory,
    endpoints: endpoints.cache,
    handOff: worker,
    logger: logger.child({ component: "ingest-scheduler" }),
  });
  registerIngestRoutes(http, {
    appends,
    ingestToken: config.ingestToken,
    maxPayloadBytes: config.maxPayloadBytes,
    count: countIngest,
    appendTransactions: ingestAppend,
    // This process's tenant events reach its SSE waiters at commit, not when the log reader gets to them.
    onAppended: (appended) => waypoint.offer(appended),
  });
  const ingests: JetStreamIngest[] = [];
  if (nats) {
    const ingestLogger = logger.child({ component: "ingest" });
    const consumers: { kind: IngestKind; name: string; stream: string; subject: string }[] = [
      { kind: "transactions", name: "transactions", stream: config.txStream, subject: config.txSubject },
      {
        kind: "tenantEvents",
        name: "tenant-events",
        stream: config.tenantEventsStream,
        subject: config.tenantEventsSubject,
      },
    ];
    const statuses: { labels: { consumer: string; stream: string }; ingest: JetStreamIngest }[] = [];
    for (const { kind, name, stream, subject } of consumers) {
      const ingest = await startJetStreamIngest({
        nats,
        store: batched,
        logger: ingestLogger,
        stream,
        subject,
        durable: `${config.natsDurable}-${name}`,
        ...natsIngestCodec(kind, config.maxPayloadBytes),
        ...(kind === "transactions" ? { append: ingestAppend } : {}),
        onOutcome: (outcome) => countIngest(kind, "nats", outcome),
        onAppended: (appended) => waypoint.offer(appended),
        stallAfterMs: config.ingestStallS * 1000,
      });
      ingests.push(ingest);
      started.push(() => ingest.stop());
      statuses.push({ labels: { consumer: name, stream }, ingest });
      // Messages wait and none is settled: this process takes no more ingest until appends succeed.
      readiness.push({
        name: `nats-ingest:${name}`,
        check: async () => {
          if (ingest.status().stalled)
            throw new Error(`no message settled for ${config.ingestStallS} s while messages wait`);
        },
      });
    }
    metrics.gauge(
      "herald_ingest_stalled",
      "1 when a NATS consumer has messages waiting and settled none for HERALD_INGEST_STALL_S",
      () => statuses.map(({ labels, ingest }) => ({ labels, value: ingest.status().stalled ? 1 : 0 })),
    );
    metrics.gauge(
      "herald_ingest_waiting",
      "Messages a NATS consumer of this process received and has not acknowledged yet",
      () => statuses.map(({ labels, ingest }) => ({ labels, value: ingest.status().waiting })),
    );
  }
  await http.listen({ port: config.port, host: config.host });
  const address = http.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // Open SSE streams would hold fastify's close forever: end them first (clients reconnect elsewhere).
      await waypoint.stop();
      // Stop taking work everywhere at once (requests, NATS messages, queue claims), and finish what is
      // in flight: fastify waits for requests, the worker for its attempts (each bounded by
      // HERALD_DELIVERY_TIMEOUT_MS) and records them before the store closes.
      await Promise.all([http.close(), ...ingests.map((ingest) => ingest.stop()), worker.stop()]);
      deliveryDirectory.stop();
      endpoints.stop();
      await projectionGroup.stop();
      await pump.stop();
      // Nothing appends through the batcher any more: what it holds is written before the store closes.
      await appends.drain();
      if (nats) await nats.drain().catch(() => {});
      await storage.close();
    })();
    return stopping;
  };

  return { url, config, database, store, http, projections, projectionGroup, metrics, waypoint, stop };
}

/** How long a gauge read from storage is reused: a scrape costs a dozen reads (one per projection and more). */
const METRICS_STORAGE_CACHE_MS = 5000;

/** Few label values: a status code per series would make one series per code a receiver invents. */
function outcomeClass(result: AttemptResult): string {
  return result.kind === "error" ? "error" : `${Math.floor(result.status / 100)}xx`;
}
