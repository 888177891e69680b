import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenantToken } from "../../src/adapters/auth/tenant-token.js";
import type { TenantEvent } from "../../src/domain/ingest-events.js";
import { fixtureTenantEvents } from "../support/fixtures.js";
import { startTestHerald, TEST_INGEST_TOKEN, type TestHerald } from "../support/test-herald.js";

const SECRET = "test-tenant-jwt-secret";
const [template] = fixtureTenantEvents() as [TenantEvent];

/** Query strings carry what callers put there (look_back, group_id, a token pasted by mistake): logs keep the path only. */
describe("request logs", () => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald({
      nats: false,
      env: { HERALD_TENANT_JWT_SECRET: SECRET, HERALD_SSE_TIMEOUT_S: "1" },
    });
  });
  afterAll(async () => {
    await herald?.cleanup();
  });

  it("name SSE and ingest requests by their path, without the query string", async () => {
    const event: TenantEvent = {
      ...template,
      wallet_id: randomUUID(),
      group_id: "acme",
      payload: { ...template.payload, connection_id: randomUUID() },
    };
    const ssePath = `/v1/sse/${event.wallet_id}/${event.topic}/connection_id/${String(event.payload.connection_id)}/completed`;
    const adminKey = createTenantToken(SECRET, { kind: "tenant-admin", groupId: "acme" }, { ttlS: 600 });
    // Answered with event: timeout after a second, so the whole stream can be read.
    const stream = await fetch(`${herald.url}/tenant-admin${ssePath}?look_back=5&group_id=acme-secret-group`, {
      headers: { "x-api-key": adminKey },
    });
    expect(stream.status).toBe(200);
    await stream.text();
    const ingest = await fetch(`${herald.url}/v1/events?group_id=acme-secret-group&token=pasted-by-mistake`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_INGEST_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(event),
    });
    expect(ingest.status).toBe(202);

    const urls = herald.logs
      .map((line) => JSON.parse(line) as { msg: string; req?: { url: string } })
      .filter((line) => line.msg === "incoming request")
      .map((line) => line.req?.url);
    expect(urls).toEqual(expect.arrayContaining([`/tenant-admin${ssePath}`, "/v1/events"]));
    expect(urls.every((url) => !url?.includes("?"))).toBe(true);
    expect(herald.logs.join("\n")).not.toMatch(/look_back|acme-secret-group|pasted-by-mistake/);
  });
});
