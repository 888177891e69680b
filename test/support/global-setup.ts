import { connect as connectTcp } from "node:net";
import pg from "pg";
import { NATS_URL, POSTGRES_URL, START_NATS, START_POSTGRES } from "./services.js";

/**
 * The suite runs against real PostgreSQL and NATS. When one is down the run stops here, naming the
 * server and the command that starts it, instead of skipping tests.
 */
export default async function checkServices(): Promise<void> {
  const problems: string[] = [];
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("select 1");
  } catch (error) {
    problems.push(
      `PostgreSQL is not reachable at ${POSTGRES_URL} (${(error as Error).message}). Start it: ${START_POSTGRES}`,
    );
  } finally {
    await client.end().catch(() => {});
  }
  const nats = new URL(NATS_URL);
  const natsUp = await new Promise<boolean>((resolve) => {
    const socket = connectTcp({ host: nats.hostname, port: Number(nats.port || 4222), timeout: 3000 });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
  if (!natsUp) problems.push(`NATS is not reachable at ${NATS_URL}. Start it: ${START_NATS}`);
  if (problems.length > 0) throw new Error(`The test suite needs real servers:\n- ${problems.join("\n- ")}`);
}
