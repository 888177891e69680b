import { Agent, request } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { createHttpServer } from "../../src/app/http-server.js";
import { createLogger } from "../../src/app/logger.js";
import { POSTGRES_URL } from "../support/services.js";

describe("HTTP server shutdown", () => {
  it("ends the keep-alive connection of a request that answers while the server closes, so close does not wait for it", async () => {
    const app = createHttpServer({ logger: createLogger("silent"), readiness: [], bodyLimit: 1024 });
    let arrived!: () => void;
    const inFlight = new Promise<void>((resolve) => (arrived = resolve));
    let finish!: () => void;
    app.get("/slow", async () => {
      arrived();
      await new Promise<void>((resolve) => (finish = resolve));
      return { ok: true };
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = app.server.address() as AddressInfo;
    const agent = new Agent({ keepAlive: true });

    const answer = new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      request({ port, host: "127.0.0.1", path: "/slow", agent }, (response) => {
        response.resume();
        response.on("end", () => resolve({ status: response.statusCode ?? 0, connection: response.headers.connection }));
      })
        .on("error", reject)
        .end();
    });
    await inFlight;
    const closed = app.close();
    // Let close start (closing idle connections: this one is busy) before the answer goes out.
    await new Promise((resolve) => setTimeout(resolve, 50));
    finish();

    expect(await answer).toEqual({ status: 200, connection: "close" });
    // Without the header the idle keep-alive connection would hold close for fastify's 72 s keep-alive timeout.
    await closed;
    expect(await new Promise((resolve) => app.server.getConnections((_error, count) => resolve(count)))).toBe(0);
    agent.destroy();
  }, 20_000);
});

describe("HTTP server errors", () => {
  it("answers a 5xx with a request id and no internal code: a real PostgreSQL error's SQLSTATE stays in the log", async () => {
    const logs: string[] = [];
    const app = createHttpServer({ logger: createLogger("error", { write: (line: string) => void logs.push(line) }), readiness: [], bodyLimit: 1024 });
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    app.get("/fails", async () => client.query("select $1::jsonb", ['"\\u0000"']));
    try {
      const response = await app.inject({ method: "GET", url: "/fails", headers: { "x-request-id": "req-1" } });
      expect(response.statusCode).toBe(500);
      expect(response.json()).toEqual({ error: "internal error, retry", code: "INTERNAL", requestId: "req-1" });
      expect(response.body).not.toContain("22P05");
      expect(logs.join("\n")).toContain("22P05");
    } finally {
      await client.end();
      await app.close();
    }
  });
});
