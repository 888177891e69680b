import { randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";
import { type JetStreamClient, jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTenantToken } from "../../src/adapters/auth/tenant-token.js";
import type { TenantEvent } from "../../src/domain/ingest-events.js";
import { fixtureTenantEvents } from "../support/fixtures.js";
import { NATS_URL } from "../support/services.js";
import { SseClient } from "../support/sse-client.js";
import { SseListener, SseListenerTimeoutError } from "../support/sse-listener.js";
import { appendTenantEvents, tenantEventAppend } from "../support/tenant-event-appends.js";
import { startTestHerald, TEST_INGEST_TOKEN, type TestHerald } from "../support/test-herald.js";

const SECRET = "test-tenant-jwt-secret";
const ADMIN_API_KEY = "test-tenant-admin-api-key";
/** sse-starlette's keep-alive: `: ping - ` and Python's str() of a UTC datetime. */
const PING = /^: ping - \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?\+00:00$/;
const [connectionTemplate, proofTemplate] = fixtureTenantEvents() as [TenantEvent, TenantEvent, TenantEvent];

/** A fresh wallet and connection each time, so tests never answer each other's waits. */
function newConnectionEvent(group = "acme", state = "completed"): TenantEvent {
  return {
    ...connectionTemplate,
    wallet_id: randomUUID(),
    group_id: group,
    payload: { ...connectionTemplate.payload, connection_id: randomUUID(), state },
  };
}

const tenantKey = (walletId: string) => createTenantToken(SECRET, { kind: "tenant", walletId }, { ttlS: 600 });
const adminKey = (groupId: string) => createTenantToken(SECRET, { kind: "tenant-admin", groupId }, { ttlS: 600 });

describe("Waypoint SSE: wait for one tenant event", () => {
  let herald: TestHerald;
  let nc: NatsConnection;
  let js: JetStreamClient;
  const clients: SseClient[] = [];

  beforeAll(async () => {
    herald = await startTestHerald({
      env: {
        HERALD_TENANT_JWT_SECRET: SECRET,
        HERALD_TENANT_ADMIN_API_KEY: ADMIN_API_KEY,
        HERALD_SSE_TIMEOUT_S: "2",
        HERALD_SSE_KEEPALIVE_S: "1",
      },
    });
    nc = await connect({ servers: NATS_URL });
    js = jetstream(nc);
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  afterAll(async () => {
    await nc?.close();
    await herald?.cleanup();
  });

  const sseUrl = (base: string, event: TenantEvent, field = "connection_id", query = "", prefix = "") =>
    `${base}${prefix}/v1/sse/${event.wallet_id}/${event.topic}/${field}/${String(event.payload[field])}/${String(event.payload.state)}${query}`;

  function listen(url: string, apiKey: string, headers: Record<string, string> = {}): SseClient {
    const client = new SseClient(url, { "x-api-key": apiKey, ...headers });
    clients.push(client);
    return client;
  }

  async function publish(event: TenantEvent | string, subjectOf: TenantEvent = event as TenantEvent): Promise<void> {
    await js.publish(
      `${herald.nats!.tenantSubjectRoot}.${subjectOf.group_id}.${subjectOf.wallet_id}`,
      typeof event === "string" ? event : JSON.stringify(event),
    );
  }

  /** Until this herald's matcher has the event in its window (it arrived before the request). */
  async function seenBy(target: TestHerald, count: number): Promise<void> {
    await expect.poll(() => target.herald.waypoint.windowSize, { interval: 20 }).toBeGreaterThanOrEqual(count);
  }

  it("delivers an event that arrived before the request (inside look_back) at once, then closes", async () => {
    const event = newConnectionEvent();
    const before = herald.herald.waypoint.windowSize;
    await publish(event);
    await seenBy(herald, before + 1);
    const started = Date.now();
    const client = listen(sseUrl(herald.url, event), tenantKey(event.wallet_id));
    const message = await client.next("message");
    expect(Date.now() - started).toBeLessThan(1000);
    expect(JSON.parse(message.data)).toEqual(event);
    expect(message.id).toMatch(/^\d+-\d+$/);
    expect(herald.herald.waypoint.waiterCount).toBe(0);
  });

  it("delivers an event published over NATS after the request, as the seed's client sees it", async () => {
    const event = newConnectionEvent();
    const client = listen(sseUrl(herald.url, event, "connection_id", "", "/tenant-admin"), tenantKey(event.wallet_id));
    await client.next("open");
    await publish({ ...event, payload: { ...event.payload, state: "request-sent" } });
    await publish(event);
    const message = await client.next("message");
    expect(JSON.parse(message.data)).toEqual(event);
    expect(client.entries.filter((entry) => entry.kind === "message")).toHaveLength(1);
  });

  it("answers 204 to the reconnect that carries the match's Last-Event-ID, so EventSource stops", async () => {
    const event = newConnectionEvent();
    const client = listen(sseUrl(herald.url, event), tenantKey(event.wallet_id));
    await client.next("open");
    await publish(event);
    const message = await client.next("message");
    // The server closed the stream after the match (an error without status); EventSource reconnects
    // with Last-Event-ID and gets 204, after which it stays closed.
    await client.next("error", 5000, (error) => error.status === 204);
    expect(client.source.readyState).toBe(2);
    expect(client.entries.filter((entry) => entry.kind === "message")).toEqual([message]);
  });

  it("matches on a nested field and on a number's string form", async () => {
    const event: TenantEvent = {
      ...proofTemplate,
      wallet_id: randomUUID(),
      payload: { ...proofTemplate.payload, presentation: { attempt: 7 } },
    };
    const client = listen(
      `${herald.url}/v1/sse/${event.wallet_id}/proofs/presentation.attempt/7/done`,
      tenantKey(event.wallet_id),
    );
    await client.next("open");
    await publish(event);
    expect(JSON.parse((await client.next("message")).data)).toEqual(event);
  });

  it("closes with nothing but `: ping - <UTC time>` comments when nothing matches, as acapy-cloud does", async () => {
    const event = newConnectionEvent();
    const response = await fetch(sseUrl(herald.url, event), { headers: { "x-api-key": tenantKey(event.wallet_id) } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(response.headers.get("cache-control")).toBe("no-cache");
    expect(response.headers.get("x-accel-buffering")).toBe("no");
    const started = Date.now();
    const body = await response.text();
    expect(Date.now() - started).toBeGreaterThan(1500);
    const lines = body.split("\n").filter((line) => line !== "");
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const line of lines) expect(line).toMatch(PING);
    expect(body).not.toMatch(/^(event|data|id):/m);
    expect(herald.herald.waypoint.waiterCount).toBe(0);
  });

  it("the seed's client sees the stream end without a message when nothing matches", async () => {
    const event = newConnectionEvent();
    const client = listen(sseUrl(herald.url, event), tenantKey(event.wallet_id));
    await client.next("open");
    await client.next("error", 5000, (error) => error.status === undefined);
    expect(client.entries.some((entry) => entry.kind === "message")).toBe(false);
  });

  it("treats look_back=0 as the default window (acapy-cloud forwards only a non-zero look_back) and a negative one as live only", async () => {
    const event = newConnectionEvent();
    const before = herald.herald.waypoint.windowSize;
    await publish(event);
    await seenBy(herald, before + 1);
    const zero = listen(sseUrl(herald.url, event, "connection_id", "?look_back=0"), tenantKey(event.wallet_id));
    expect(JSON.parse((await zero.next("message")).data)).toEqual(event);
    const clamped = listen(sseUrl(herald.url, event, "connection_id", "?look_back=100000"), tenantKey(event.wallet_id));
    expect(JSON.parse((await clamped.next("message")).data)).toEqual(event);
    const live = new SseListener(herald.url, event.wallet_id, event.topic, tenantKey(event.wallet_id));
    await expect(
      live.waitForEvent("connection_id", String(event.payload.connection_id), "completed", { lookBack: -1 }),
    ).rejects.toThrow(SseListenerTimeoutError);
  });

  describe("acapy-cloud's own listener (sse_listener.py) against herald", () => {
    const listener = (event: TenantEvent, key = tenantKey(event.wallet_id)) =>
      new SseListener(herald.url, event.wallet_id, event.topic, key);

    it("a match: the first data line is the event, byte for byte as published", async () => {
      const event = newConnectionEvent();
      // Published with its own spacing and key order, which a re-serialisation would change.
      const published = `{ "payload": {"state":"completed", "connection_id":"${String(event.payload.connection_id)}", "10": 1.50, "2": 1e2},\t"wallet_id":"${event.wallet_id}", "topic":"connections", "origin":"multitenant", "group_id":"acme" }`;
      const waiters = herald.herald.waypoint.waiterCount;
      const waiting = listener(event).waitForEvent("connection_id", String(event.payload.connection_id), "completed");
      // Published once herald holds the wait: without look_back only an event after it answers.
      await expect.poll(() => herald.herald.waypoint.waiterCount, { interval: 10 }).toBeGreaterThan(waiters);
      await publish(published, event);
      const result = await waiting;
      expect(result.data).toBe(published);
      expect(result.payload).toMatchObject({ connection_id: event.payload.connection_id, state: "completed" });
      // herald's one addition, the id: line, is what the listener notes and skips.
      expect(result.unexpected).toEqual([expect.stringMatching(/^id: \d+-\d+$/)]);
    });

    it("a timeout: the stream ends without a data line and the listener raises SseListenerTimeoutError", async () => {
      const event = newConnectionEvent();
      const l = listener(event);
      await expect(l.waitForEvent("connection_id", String(event.payload.connection_id), "completed")).rejects.toThrow(
        SseListenerTimeoutError,
      );
      for (const line of l.lines.filter((text) => text !== "")) expect(line).toMatch(PING);
    });

    it("basic-message, the topic acapy-cloud's pipelines publish (its e2e test_messaging waits on it), is a wait like any other", async () => {
      const event: TenantEvent = {
        wallet_id: randomUUID(),
        topic: "basic-message",
        origin: "multitenant",
        group_id: "acme",
        payload: { connection_id: randomUUID(), content: "hello", state: "received" },
      };
      const waiters = herald.herald.waypoint.waiterCount;
      const waiting = listener(event).waitForEvent("connection_id", String(event.payload.connection_id), "received");
      await expect.poll(() => herald.herald.waypoint.waiterCount, { interval: 10 }).toBeGreaterThan(waiters);
      await publish(event);
      expect((await waiting).payload).toEqual(event.payload);
    });

    it("two matches inside look_back: the oldest answers, as acapy-cloud's stream order does", async () => {
      const first = newConnectionEvent();
      const second: TenantEvent = { ...first, payload: { ...first.payload, their_label: "second" } };
      const before = herald.herald.waypoint.windowSize;
      await publish({ ...first, payload: { ...first.payload, their_label: "first" } });
      await publish(second);
      await seenBy(herald, before + 2);
      const result = await listener(first).waitForEvent(
        "connection_id",
        String(first.payload.connection_id),
        "completed",
        { lookBack: 60 },
      );
      expect(result.payload).toMatchObject({ their_label: "first" });
    });
  });

  describe("refusals, as JSON before any stream opens", () => {
    const get = (url: string, apiKey?: string) =>
      fetch(url, { headers: apiKey === undefined ? {} : { "x-api-key": apiKey } });

    it("401 with FastAPI's detail for a key without a role prefix or with an unknown role", async () => {
      const event = newConnectionEvent();
      for (const key of ["no-dot-at-all", "admin.whatever", tenantKey(event.wallet_id).replace(/^tenant/, "tenants")]) {
        const response = await get(sseUrl(herald.url, event), key);
        expect(response.status).toBe(401);
        expect(await response.json()).toMatchObject({
          detail: expect.any(String),
          code: "TENANT_KEY_REFUSED",
          reason: "unknown-role",
        });
      }
    });

    it("403 for a missing, malformed, expired or foreign-secret key", async () => {
      const event = newConnectionEvent();
      const url = sseUrl(herald.url, event);
      const expired = createTenantToken(
        SECRET,
        { kind: "tenant", walletId: event.wallet_id },
        { ttlS: 1, nowS: 1_000 },
      );
      const foreign = createTenantToken("another-secret", { kind: "tenant", walletId: event.wallet_id });
      for (const [key, reason] of [
        [undefined, "missing"],
        ["tenant.nope", "malformed"],
        [expired, "expired"],
        [foreign, "bad-signature"],
      ] as const) {
        const response = await get(url, key);
        expect(response.status).toBe(403);
        expect(await response.json()).toMatchObject({ detail: expect.any(String), code: "TENANT_KEY_REFUSED", reason });
      }
      // No key, nor any part of one, is logged: every JWT starts with this header.
      expect(herald.logs.join("\n")).not.toContain(foreign.split(".")[1]);
    });

    it("403 for a tenant key on another wallet, also through the seed's client", async () => {
      const event = newConnectionEvent();
      const response = await get(sseUrl(herald.url, event), tenantKey(randomUUID()));
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ code: "FORBIDDEN_WALLET" });
      const client = listen(sseUrl(herald.url, event), tenantKey(randomUUID()));
      expect((await client.next("error")).status).toBe(403);
    });

    it("no refusal for a topic outside the documented eleven: it opens a wait", async () => {
      const event = { ...newConnectionEvent(), topic: "transactions" };
      const response = await get(sseUrl(herald.url, event), tenantKey(event.wallet_id));
      expect(response.status).toBe(200);
      await response.body?.cancel();
    });

    it("422 with FastAPI's int_parsing detail for a look_back that is not an integer", async () => {
      const event = newConnectionEvent();
      for (const lookBack of ["abc", "1.5", ""]) {
        const response = await get(
          sseUrl(herald.url, event, "connection_id", `?look_back=${lookBack}`),
          tenantKey(event.wallet_id),
        );
        expect(response.status).toBe(422);
        expect(await response.json()).toMatchObject({
          code: "INVALID_LOOK_BACK",
          detail: [{ type: "int_parsing", loc: ["query", "look_back"], input: lookBack }],
        });
      }
    });
  });

  describe("tenant-admin keys", () => {
    it("deliver events of the group's wallets", async () => {
      const event = newConnectionEvent("acme");
      const client = listen(sseUrl(herald.url, event), adminKey("acme"));
      await client.next("open");
      await publish(event);
      expect(JSON.parse((await client.next("message")).data)).toEqual(event);
    });

    it("answer 403 at once for a wallet already seen in another group", async () => {
      const event = newConnectionEvent("globex");
      const before = herald.herald.waypoint.windowSize;
      await publish(event);
      await seenBy(herald, before + 1);
      const response = await fetch(sseUrl(herald.url, event), { headers: { "x-api-key": adminKey("acme") } });
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ code: "FORBIDDEN_WALLET" });
    });

    it("answer 403 for a wallet seen in another group long before the window, also on a herald started since", async () => {
      const event = newConnectionEvent("globex");
      // Received an hour ago: no window holds it, only the wallet-groups read model knows the wallet.
      const [appended] = await herald.herald.store.appendMany([tenantEventAppend(event, Date.now() - 3_600_000)]);
      if (!appended?.ok) throw new Error("the append was refused");
      await herald.herald.projections.get("wallet-groups")!.waitFor(appended.result.position);
      const second = await herald.restart();
      try {
        for (const target of [herald, second]) {
          const response = await fetch(sseUrl(target.url, event), { headers: { "x-api-key": adminKey("acme") } });
          expect(response.status).toBe(403);
          expect(await response.json()).toMatchObject({ code: "FORBIDDEN_WALLET" });
        }
      } finally {
        await second.stop();
      }
    });

    it("never match an event of another group on a wallet not seen before", async () => {
      const event = newConnectionEvent("globex");
      const client = listen(sseUrl(herald.url, event), adminKey("acme"));
      await client.next("open");
      await publish(event);
      await client.next("error", 5000, (error) => error.status === undefined);
      expect(client.entries.some((entry) => entry.kind === "message")).toBe(false);
    });

    it("the static key (HERALD_TENANT_ADMIN_API_KEY) waits on any wallet; ?group_id= filters, a wrong group never matches", async () => {
      const event = newConnectionEvent("globex");
      const key = `tenant-admin.${ADMIN_API_KEY}`;
      const any = listen(sseUrl(herald.url, event), key);
      const right = listen(sseUrl(herald.url, event, "connection_id", "?group_id=globex"), key);
      const wrong = new SseListener(herald.url, event.wallet_id, event.topic, key);
      const wrongWait = wrong.waitForEvent("connection_id", String(event.payload.connection_id), "completed", {
        query: "&group_id=acme",
      });
      await any.next("open");
      await right.next("open");
      await publish(event);
      expect(JSON.parse((await any.next("message")).data)).toEqual(event);
      expect(JSON.parse((await right.next("message")).data)).toEqual(event);
      await expect(wrongWait).rejects.toThrow(SseListenerTimeoutError);
    });
  });

  it("delivers to a waiter on one herald an event ingested by another on the same database", async () => {
    const second = await herald.restart();
    try {
      const event = newConnectionEvent();
      const client = listen(sseUrl(herald.url, event), tenantKey(event.wallet_id));
      await client.next("open");
      const response = await fetch(`${second.url}/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_INGEST_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(event),
      });
      expect(response.status).toBe(202);
      expect(JSON.parse((await client.next("message")).data)).toEqual(event);
    } finally {
      await second.stop();
    }
  });

  it("warms a new herald's look_back window from the store: an event from before it started is found at once", async () => {
    // Behind the recent events lie thousands received long ago, which a new herald need not read.
    const old = await appendTenantEvents(herald.herald.store, 3000, Date.now() - 3_600_000, () => newConnectionEvent());
    // The read model's catching up must not run on into the tests that follow.
    await herald.herald.projections.get("wallet-groups")!.waitFor(old, 30_000);
    const event = newConnectionEvent();
    const before = herald.herald.waypoint.windowSize;
    await publish(event);
    await seenBy(herald, before + 1);
    const second = await herald.restart();
    try {
      const client = listen(sseUrl(second.url, event), tenantKey(event.wallet_id));
      expect(JSON.parse((await client.next("message", 1000)).data)).toEqual(event);
      // Reading back from the newest, it stopped at the first event older than the window.
      expect(second.herald.waypoint.windowSize).toBe(1);
    } finally {
      await second.stop();
    }
  });

  it("ends open streams promptly when herald stops", async () => {
    const second = await herald.restart();
    const event = newConnectionEvent();
    const response = await fetch(sseUrl(second.url, event), { headers: { "x-api-key": tenantKey(event.wallet_id) } });
    expect(second.herald.waypoint.waiterCount).toBe(1);
    const started = Date.now();
    const stopping = second.stop();
    // The stream ends as shutdown begins, not when its own timeout (2 s) or the rest of stop() ends.
    expect(await response.text()).toBe("");
    expect(Date.now() - started).toBeLessThan(1000);
    await stopping;
    expect(second.herald.waypoint.waiterCount).toBe(0);
  });

  it("forgets 1,000 clients that disconnect: zero waiters, no growth in open handles", async () => {
    const event = newConnectionEvent();
    const url = new URL(sseUrl(herald.url, event));
    const key = tenantKey(event.wallet_id);
    const connectAndLeave = () =>
      new Promise<void>((resolve, reject) => {
        const request = httpRequest(url, { headers: { "x-api-key": key }, agent: false }, (response) => {
          if (response.statusCode !== 200) reject(new Error(`status ${response.statusCode}`));
          request.destroy();
          resolve();
        });
        request.on("error", (error) => {
          if (!request.destroyed) reject(error);
        });
        request.end();
      });
    const settle = () => expect.poll(() => herald.herald.waypoint.waiterCount, { interval: 20 }).toBe(0);
    await connectAndLeave();
    await settle();
    const handlesBefore = process.getActiveResourcesInfo().length;
    for (let round = 0; round < 20; round++) await Promise.all(Array.from({ length: 50 }, connectAndLeave));
    await settle();
    expect(herald.herald.waypoint.waiterCount).toBe(0);
    // A leak would leave a socket or a timer per client: a thousand. herald's own database pool, in this
    // same process, may open a few connections meanwhile (up to its size, 10), which is not a leak.
    // Polled: the sockets of the last round close a moment after their waiters are gone.
    await expect.poll(() => process.getActiveResourcesInfo().length - handlesBefore).toBeLessThanOrEqual(10);
    const metrics = await (await fetch(`${herald.url}/metrics`)).text();
    expect(metrics).toContain("herald_sse_waiters 0");
    const disconnects = /herald_sse_requests_total\{outcome="disconnect"\} (\d+)/.exec(metrics)?.[1];
    expect(Number(disconnects)).toBeGreaterThanOrEqual(1001);
  });
});
