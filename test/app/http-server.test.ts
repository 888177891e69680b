import { Agent, request } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { createHttpServer } from "../../src/app/http-server.js";
import { createLogger } from "../../src/app/logger.js";
import { POSTGRES_URL } from "../support/services.js";

const timeouts = { headersMs: 10_000, requestMs: 30_000, connectionMs: 60_000 };

describe("HTTP server shutdown", () => {
  it("ends the keep-alive connection of a request that answers while the server closes, so close does not wait for it", async () => {
    const app = createHttpServer({ logger: createLogger("silent"), readiness: [], bodyLimit: 1024, timeouts });
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
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, connection: response.headers.connection }),
        );
      })
        .on("error", reject)
        .end();
    });
    await inFlight;
    const closed = app.close();
    // Close has begun (the server stopped listening; it closes idle connections, and this one is busy)
    // before the answer goes out.
    await expect.poll(() => app.server.listening, { interval: 5 }).toBe(false);
    finish();

    expect(await answer).toEqual({ status: 200, connection: "close" });
    // Without the header the idle keep-alive connection would hold close for fastify's 72 s keep-alive timeout.
    await closed;
    expect(await new Promise((resolve) => app.server.getConnections((_error, count) => resolve(count)))).toBe(0);
    agent.destroy();
  }, 20_000);
});

describe("HTTP server answers and logs", () => {
  async function serve(
    readiness: Parameters<typeof createHttpServer>[0]["readiness"],
    routes: (app: FastifyInstance) => void = () => {},
  ) {
    const logs: string[] = [];
    const app = createHttpServer({
      logger: createLogger("info", { write: (line: string) => void logs.push(line) }),
      readiness,
      bodyLimit: 1024,
      timeouts,
    });
    routes(app);
    await app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = app.server.address() as AddressInfo;
    return { app, logs, url: `http://127.0.0.1:${port}` };
  }

  it("names a failing readiness part without its error text, which goes to the log", async () => {
    const { app, logs, url } = await serve([
      {
        name: "database",
        check: async () => Promise.reject(new Error("connect ECONNREFUSED db-primary.internal:5432")),
      },
      { name: "eventstore", check: async () => {} },
    ]);
    try {
      const response = await fetch(`${url}/readyz`);
      const text = await response.text();
      expect(response.status).toBe(503);
      expect(JSON.parse(text)).toEqual({
        status: "not ready",
        failing: ["database"],
        checks: [
          { name: "database", ok: false },
          { name: "eventstore", ok: true },
        ],
      });
      expect(text).not.toContain("ECONNREFUSED");
      const logged = logs.map((line) => JSON.parse(line) as { msg: string; check?: string; err?: { message: string } });
      expect(logged.find((line) => line.msg === "readiness check failed")).toMatchObject({
        check: "database",
        err: { message: "connect ECONNREFUSED db-primary.internal:5432" },
      });
    } finally {
      await app.close();
    }
  });

  it("logs request paths without their query strings", async () => {
    const { app, logs, url } = await serve([], (routes) => routes.get("/v1/sse/:wallet", async () => ({ ok: true })));
    try {
      await fetch(`${url}/healthz?token=abc123&look_back=30`);
      await fetch(`${url}/v1/sse/w1?look_back=30&group_id=acme`);
      await fetch(`${url}/nowhere?group_id=acme`);
      const urls = logs
        .map((line) => JSON.parse(line) as { msg: string; req?: { url: string } })
        .filter((line) => line.msg === "incoming request")
        .map((line) => line.req?.url);
      expect(urls).toEqual(["/healthz", "/v1/sse/w1", "/nowhere"]);
      expect(logs.join("\n")).not.toMatch(/abc123|look_back|group_id/);
    } finally {
      await app.close();
    }
  });
});

describe("HTTP server errors", () => {
  it("answers a 5xx with a request id and no internal code: a real PostgreSQL error's SQLSTATE stays in the log", async () => {
    const logs: string[] = [];
    const app = createHttpServer({
      logger: createLogger("error", { write: (line: string) => void logs.push(line) }),
      readiness: [],
      bodyLimit: 1024,
      timeouts,
    });
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
