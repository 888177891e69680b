import pg from "pg";
import { describe, expect, it } from "vitest";
import { isPermanentAppendError } from "../../../src/adapters/eventstore/append-errors.js";
import { AppendManyIncompleteError, EventStoreUnavailableError } from "../../../src/adapters/eventstore/event-store.js";
import { POSTGRES_URL } from "../../support/services.js";
import { useServerConnection } from "../../support/test-database.js";

/** The error a real PostgreSQL (or the driver) gives for `run`. */
async function errorOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error("expected the statement to fail");
}

describe("isPermanentAppendError", () => {
  const server = useServerConnection();

  it.each([
    ["22P05 (a NUL in jsonb)", ['"\\u0000"']],
    ["22P02 (a lone surrogate in jsonb)", ['"\\udc00"']],
  ])("calls %s permanent", async (_name, values) => {
    const error = await errorOf(() => server.client.query("select $1::jsonb", values));
    expect(isPermanentAppendError(error)).toBe(true);
    // Also when appendMany wraps it (EventStoreDB stops part way).
    expect(isPermanentAppendError(new AppendManyIncompleteError([], { cause: error }))).toBe(true);
  });

  it("calls 54001 (stack depth exceeded) permanent", async () => {
    const error = await errorOf(() =>
      server.client.query(`select $1::jsonb`, [`${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}`]),
    );
    expect((error as { code?: string }).code).toMatch(/^54/);
    expect(isPermanentAppendError(error)).toBe(true);
  });

  it("calls JSON.stringify's RangeError on deep nesting permanent", () => {
    let deep: unknown = 1;
    for (let level = 0; level < 100_000; level++) deep = [deep];
    const error = (() => {
      try {
        JSON.stringify(deep);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(RangeError);
    expect(isPermanentAppendError(error)).toBe(true);
  });

  it("calls a terminated connection (57P01), a refused one and an unavailable store transient", async () => {
    const victim = new pg.Client({ connectionString: POSTGRES_URL });
    await victim.connect();
    victim.on("error", () => {});
    const { rows } = await victim.query<{ pid: number }>("select pg_backend_pid() as pid");
    const terminated = errorOf(() => victim.query("select pg_sleep(30)"));
    // Terminated mid-query, so that the query itself gets the server's 57P01.
    await expect
      .poll(
        async () =>
          (
            await server.client.query("select 1 from pg_stat_activity where pid = $1 and state = 'active'", [
              rows[0]!.pid,
            ])
          ).rowCount,
        { interval: 20 },
      )
      .toBe(1);
    await server.client.query("select pg_terminate_backend($1)", [rows[0]!.pid]);
    const error = await terminated;
    expect((error as { code?: string }).code).toBe("57P01");
    expect(isPermanentAppendError(error)).toBe(false);
    await victim.end().catch(() => {});

    const refused = await errorOf(() =>
      new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:1/postgres" }).connect(),
    );
    expect(isPermanentAppendError(refused)).toBe(false);
    expect(isPermanentAppendError(new EventStoreUnavailableError("EventStoreDB: unavailable"))).toBe(false);
  });
});
