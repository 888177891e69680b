import { randomUUID } from "node:crypto";
import { connect, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTenantToken } from "../../src/adapters/auth/tenant-token.js";
import type { TenantEvent } from "../../src/domain/ingest-events.js";
import { fixtureTenantEvents } from "../support/fixtures.js";
import { newAccount, signedToken } from "../support/siwe.js";
import { SseClient } from "../support/sse-client.js";
import { SseListener, SseListenerTimeoutError } from "../support/sse-listener.js";
import { startTestHerald, TEST_INGEST_TOKEN, type TestHerald } from "../support/test-herald.js";

const SECRET = "test-tenant-jwt-secret";
const [template] = fixtureTenantEvents() as [TenantEvent];
const HEADERS_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 2000;
/** Also bounds a request's processing (Node's socket idle timeout), so not too tight for a loaded machine. */
const CONNECTION_TIMEOUT_MS = 2500;
/** Longer than every HTTP timeout above, as the 60 s default is longer than the defaults. */
const SSE_TIMEOUT_S = 6;
/** The trickle sends one byte a second for this long unless the server cuts it. */
const TRICKLE_BYTES = 40;

/**
 * A raw connection that sends `head` and then one byte of `rest` a second. Resolves when the server
 * closes it, with what the server answered and how many of `rest`'s bytes went out.
 */
function trickle(url: string, head: string, rest: string): Promise<{ answer: string; sent: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(port), hostname);
    let answer = "";
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearInterval(timer);
      if (sent >= rest.length)
        reject(new Error(`the server let all ${rest.length} bytes trickle in; it answered ${JSON.stringify(answer)}`));
      else resolve({ answer, sent });
    });
    socket.on("connect", () => {
      socket.write(head);
      timer = setInterval(() => {
        if (sent >= rest.length) return void socket.end();
        socket.write(rest.slice(sent, sent + 1));
        sent++;
      }, 1000);
    });
  });
}

describe("timeouts at the edge", () => {
  let herald: TestHerald;
  const clients: SseClient[] = [];

  beforeAll(async () => {
    herald = await startTestHerald({
      nats: false,
      env: {
        HERALD_TENANT_JWT_SECRET: SECRET,
        HERALD_HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
        HERALD_HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        HERALD_HTTP_CONNECTION_TIMEOUT_MS: String(CONNECTION_TIMEOUT_MS),
        HERALD_SSE_TIMEOUT_S: String(SSE_TIMEOUT_S),
        // No keep-alive comment during the wait: the stream stays silent longer than an idle connection may.
        HERALD_SSE_KEEPALIVE_S: "600",
      },
    });
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  afterAll(async () => {
    await herald?.cleanup();
  });

  it("closes a signed-in connection that trickles its body a byte a second", { timeout: 60_000 }, async () => {
    const token = await signedToken(newAccount(), herald.herald.config.siweDomain);
    const body = JSON.stringify({ query: `{ webhookEndpoints { total } }${" ".repeat(TRICKLE_BYTES)}` }).slice(
      0,
      TRICKLE_BYTES,
    );
    const head =
      `POST /graphql HTTP/1.1\r\nhost: ${new URL(herald.url).host}\r\nauthorization: Bearer ${token}\r\n` +
      `content-type: application/json\r\ncontent-length: ${TRICKLE_BYTES}\r\n\r\n`;
    const { answer, sent } = await trickle(herald.url, head, body);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(sent).toBeLessThan(TRICKLE_BYTES);
  });

  it("closes a connection that trickles its headers", { timeout: 60_000 }, async () => {
    const { answer, sent } = await trickle(
      herald.url,
      "GET /healthz HTTP/1.1\r\n",
      `x-slow: ${"a".repeat(TRICKLE_BYTES)}`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(sent).toBeLessThan(TRICKLE_BYTES);
  });

  it("still answers requests that arrive in time", async () => {
    const token = await signedToken(newAccount(), herald.herald.config.siweDomain);
    const response = await fetch(`${herald.url}/graphql`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ query: "{ webhookEndpoints { total } }" }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { webhookEndpoints: { total: 0 } } });
  });

  const connectionEvent = (): TenantEvent => ({
    ...template,
    wallet_id: randomUUID(),
    group_id: "acme",
    payload: { ...template.payload, connection_id: randomUUID(), state: "completed" },
  });
  function listen(event: TenantEvent): SseClient {
    const client = new SseClient(
      `${herald.url}/v1/sse/${event.wallet_id}/${event.topic}/connection_id/${String(event.payload.connection_id)}/completed`,
      { "x-api-key": createTenantToken(SECRET, { kind: "tenant", walletId: event.wallet_id }, { ttlS: 600 }) },
    );
    clients.push(client);
    return client;
  }

  it("lets a silent SSE wait outlast every HTTP timeout and end with its own timeout", {
    timeout: 60_000,
  }, async () => {
    const event = connectionEvent();
    const key = createTenantToken(SECRET, { kind: "tenant", walletId: event.wallet_id }, { ttlS: 600 });
    const listener = new SseListener(herald.url, event.wallet_id, event.topic, key);
    const started = Date.now();
    await expect(
      listener.waitForEvent("connection_id", String(event.payload.connection_id), "completed"),
    ).rejects.toBeInstanceOf(SseListenerTimeoutError);
    // A stream cut by an HTTP timeout would end after at most CONNECTION_TIMEOUT_MS, with the same error.
    expect(Date.now() - started).toBeGreaterThanOrEqual(SSE_TIMEOUT_S * 1000 - 500);
    expect(listener.lines.filter((line) => line !== "" && !line.startsWith(": ping"))).toEqual([]);
  });

  it("delivers a match to an SSE wait that was silent longer than the connection timeout", {
    timeout: 60_000,
  }, async () => {
    const event = connectionEvent();
    const client = listen(event);
    await client.next("open");
    // The behaviour under test: the wait stays silent for longer than both server timeouts.
    await new Promise((resolve) => setTimeout(resolve, CONNECTION_TIMEOUT_MS + REQUEST_TIMEOUT_MS));
    const published = await fetch(`${herald.url}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_INGEST_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(event),
    });
    expect(published.status).toBe(202);
    expect(JSON.parse((await client.next("message")).data)).toEqual(event);
    expect(client.entries.slice(0, 2).map((entry) => entry.kind)).toEqual(["open", "message"]);
  });
});
