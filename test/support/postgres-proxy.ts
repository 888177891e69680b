import { connect as connectTcp, createServer, type Server, type Socket } from "node:net";
import { POSTGRES_URL } from "./services.js";

export interface PostgresProxy {
  readonly port: number;
  url(databaseUrl: string): string;
  /** Cuts every connection and refuses new ones. */
  down(): void;
  close(): void;
}

/**
 * A TCP relay to PostgreSQL that can be taken down (connections cut, new ones refused) without
 * touching the server that other test runs share. `url` is a database's URL through the relay.
 */
export async function postgresProxy(): Promise<PostgresProxy> {
  const target = new URL(POSTGRES_URL);
  const sockets = new Set<Socket>();
  let up = true;
  const server: Server = createServer((client) => {
    if (!up) return client.destroy();
    const upstream = connectTcp(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const down = () => {
    up = false;
    for (const socket of sockets) socket.destroy();
  };
  return {
    port,
    url(databaseUrl) {
      const relayed = new URL(databaseUrl);
      relayed.hostname = "127.0.0.1";
      relayed.port = String(port);
      return relayed.toString();
    },
    down,
    close() {
      down();
      server.close();
    },
  };
}
