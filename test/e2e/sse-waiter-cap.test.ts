import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTenantToken } from "../../src/adapters/auth/tenant-token.js";
import type { TenantEvent } from "../../src/domain/ingest-events.js";
import { fixtureTenantEvents } from "../support/fixtures.js";
import { SseClient } from "../support/sse-client.js";
import { startTestHerald, TEST_INGEST_TOKEN, type TestHerald } from "../support/test-herald.js";

const SECRET = "test-tenant-jwt-secret";
const [template] = fixtureTenantEvents() as [TenantEvent];
const PER_KEY = 3;
const PER_ADDRESS = 5;

/** Waits on a connection of its own, so that each stream is answered by its own event. */
function connectionEvent(walletId: string): TenantEvent {
  return {
    ...template,
    wallet_id: walletId,
    group_id: "acme",
    payload: { ...template.payload, connection_id: randomUUID(), state: "completed" },
  };
}

const tenantKey = (walletId: string) => createTenantToken(SECRET, { kind: "tenant", walletId }, { ttlS: 600 });

describe("Waypoint SSE waiter cap (per key, per client address)", () => {
  let herald: TestHerald;
  const clients: SseClient[] = [];

  beforeAll(async () => {
    herald = await startTestHerald({
      nats: false,
      env: {
        HERALD_TENANT_JWT_SECRET: SECRET,
        HERALD_SSE_MAX_WAITERS_PER_KEY: String(PER_KEY),
        HERALD_SSE_MAX_WAITERS_PER_ADDRESS: String(PER_ADDRESS),
      },
    });
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await waitersAre(0);
  });
  afterAll(async () => {
    await herald?.cleanup();
  });

  const urlOf = (event: TenantEvent) =>
    `${herald.url}/v1/sse/${event.wallet_id}/${event.topic}/connection_id/${String(event.payload.connection_id)}/completed`;

  async function open(event: TenantEvent): Promise<SseClient> {
    const client = new SseClient(urlOf(event), { "x-api-key": tenantKey(event.wallet_id) });
    clients.push(client);
    await client.next("open");
    return client;
  }

  /** A request past the cap: answered before any stream opens, so fetch sees the whole reply. */
  async function refused(event: TenantEvent): Promise<{ status: number; type: string | null; body: unknown }> {
    const response = await fetch(urlOf(event), { headers: { "x-api-key": tenantKey(event.wallet_id) } });
    return { status: response.status, type: response.headers.get("content-type"), body: await response.json() };
  }

  /** herald has seen the streams end (a client's close reaches it a moment later). */
  async function waitersAre(count: number): Promise<void> {
    await expect.poll(() => herald.herald.waypoint.waiterCount, { interval: 20 }).toBe(count);
  }

  it("refuses the key's waiter past the cap with 429 and JSON, and takes one again after a stream disconnects", async () => {
    const wallet = randomUUID();
    const open_ = [];
    for (let i = 0; i < PER_KEY; i++) open_.push(await open(connectionEvent(wallet)));

    const answer = await refused(connectionEvent(wallet));
    expect(answer.status).toBe(429);
    expect(answer.type).toContain("application/json");
    expect(answer.body).toEqual({
      detail: expect.stringContaining(`${PER_KEY} open waits`),
      code: "SSE_WAITERS_PER_KEY",
    });
    expect(herald.herald.waypoint.waiterCount).toBe(PER_KEY);

    // Another wallet's key has a count of its own.
    await open(connectionEvent(randomUUID()));

    open_[0]?.close();
    await waitersAre(PER_KEY);
    await open(connectionEvent(wallet));
    expect((await refused(connectionEvent(wallet))).status).toBe(429);
  });

  it("frees the slot of a stream that was answered", async () => {
    const wallet = randomUUID();
    const events = Array.from({ length: PER_KEY }, () => connectionEvent(wallet));
    const [answered] = await Promise.all(events.map((event) => open(event)));
    expect((await refused(connectionEvent(wallet))).status).toBe(429);

    const published = await fetch(`${herald.url}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_INGEST_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(events[0]),
    });
    expect(published.status).toBe(202);
    await answered?.next("message");
    await waitersAre(PER_KEY - 1);
    await open(connectionEvent(wallet));
  });

  it("refuses a client address past its cap, whatever the key", async () => {
    for (let i = 0; i < PER_ADDRESS; i++) await open(connectionEvent(randomUUID()));
    const answer = await refused(connectionEvent(randomUUID()));
    expect(answer.status).toBe(429);
    expect(answer.body).toEqual({
      detail: expect.stringContaining(`${PER_ADDRESS} open waits`),
      code: "SSE_WAITERS_PER_ADDRESS",
    });

    clients[0]?.close();
    await waitersAre(PER_ADDRESS - 1);
    await open(connectionEvent(randomUUID()));
  });
});
