import { appendHandler, batchAppendHandler } from "./append-handlers.js";
import { type AllFrom, InMemoryLog } from "./in-memory-log.js";
import { grpc, serverFeaturesGrpc, streamsGrpc } from "./protocol.js";
import { readHandler } from "./read-handler.js";
import { getSupportedMethodsHandler } from "./server-features-service.js";

/**
 * A test-only EventStoreDB: a real gRPC server speaking the part of the EventStoreDB client
 * protocol that herald's adapter uses (server features, append and batch append with expected
 * revisions, stream and `$all` reads, filtered `$all` subscriptions), over an in-memory log.
 * The real @eventstore/db-client talks to it; nothing in `src/` may import it.
 */
export interface EsdbTestServer {
  /** `esdb://127.0.0.1:<port>?tls=false`: a single node, so the client does no gossip discovery. */
  readonly url: string;
  readonly port: number;
  /** Where each `$all` subscription asked to start, in arrival order (what a test can check resumption by). */
  readonly subscriptionStarts: readonly AllFrom[];
  /** Drops every connection and subscription at once, as a crashed server would. The data stays. */
  stop(): Promise<void>;
  /** Listens again on the same port with the same data. */
  restart(): Promise<void>;
}

export interface EsdbTestServerOptions {
  /** List BatchAppend among the server's features (as every server since 21.10 does). Default true. */
  readonly batchAppend?: boolean;
}

/** What a real server writes to `$all` by itself: readers must skip such system events. */
function seedSystemEvents(log: InMemoryLog): void {
  log.append("$stats-127.0.0.1:2113", { kind: "any" }, [
    {
      id: "00000000-0000-4000-8000-000000000001",
      type: "$statsCollected",
      contentType: "application/json",
      data: Buffer.from("{}"),
      metadata: new Uint8Array(),
    },
  ]);
}

export async function startEsdbTestServer(options: EsdbTestServerOptions = {}): Promise<EsdbTestServer> {
  const log = new InMemoryLog();
  seedSystemEvents(log);
  const subscriptions = new Set<() => void>();
  const subscriptionStarts: AllFrom[] = [];
  let server: InstanceType<typeof grpc.Server> | undefined;

  async function listen(port: number): Promise<number> {
    const next = new grpc.Server();
    next.addService(streamsGrpc.StreamsService, {
      read: readHandler(log, subscriptions, subscriptionStarts),
      append: appendHandler(log),
      batchAppend: batchAppendHandler(log),
    });
    next.addService(serverFeaturesGrpc.ServerFeaturesService, {
      getSupportedMethods: getSupportedMethodsHandler({ batchAppend: options.batchAppend ?? true }),
    });
    const bound = await new Promise<number>((resolve, reject) => {
      next.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, boundPort) =>
        error ? reject(error) : resolve(boundPort),
      );
    });
    server = next;
    return bound;
  }

  const port = await listen(0);
  return {
    url: `esdb://127.0.0.1:${port}?tls=false`,
    port,
    subscriptionStarts,
    async stop() {
      for (const stopSubscription of [...subscriptions]) stopSubscription();
      server?.forceShutdown();
      server = undefined;
    },
    async restart() {
      if (server) throw new Error("the test server is running; stop it first");
      await listen(port);
    },
  };
}
