import { randomUUID } from "node:crypto";
import { request } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenantToken } from "../../src/adapters/auth/tenant-token.js";
import { fixtureTenantEvents } from "../support/fixtures.js";
import { startTestHerald, TEST_INGEST_TOKEN, type TestHerald } from "../support/test-herald.js";

const SECRET = "sse-fuzz-tenant-jwt-secret";
const WALLET = randomUUID();

/** Path segments a careless or hostile client might send, already as they go on the wire. */
const segment = fc.oneof(
  fc.constant(WALLET),
  fc.uuid(),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: "grapheme", maxLength: 20 }).map(encodeURIComponent),
  fc.constantFrom("%", "%zz", "%E0%A4%A", "%00", "%2F", "a%2Fb", "..", ".", "%2e%2e", "~", "%FF%FE", "null", "0"),
  fc.integer({ min: 200, max: 3000 }).map((length) => "w".repeat(length)),
);
// Valid parts weigh as much as random ones, so that streams and 204s are fuzzed too, not only refusals.
const wallet = fc.oneof({ arbitrary: fc.constant(WALLET), weight: 3 }, { arbitrary: segment, weight: 1 });
const topic = fc.oneof(
  { arbitrary: fc.constantFrom("connections", "proofs", "basic-message", "deleted_credential"), weight: 3 },
  { arbitrary: segment, weight: 1 },
);
const lookBack = fc.oneof(
  fc.integer({ min: -1000, max: 100_000 }).map(String),
  fc.constantFrom("", "0", "300", "301", "1e3", "0x10", "%205", "1.5", "-0", "999999999999", "NaN", "Infinity"),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
);
const query = fc.oneof(
  fc.constantFrom("", "?look_back=0", "?look_back=60"),
  lookBack.map((value) => `?look_back=${value}`),
  fc.tuple(lookBack, lookBack).map(([a, b]) => `?look_back=${a}&look_back=${b}`),
  fc.string({ maxLength: 30 }).map((text) => `?${encodeURIComponent(text)}`),
  fc.constantFrom("?", "?&", "?look_back", "?look_back[]=1", "?look_back[a]=1", "?__proto__=1", "?%"),
);

const adminKey = createTenantToken(SECRET, { kind: "tenant-admin", groupId: "acme" }, { ttlS: 600 });
const walletKey = createTenantToken(SECRET, { kind: "tenant", walletId: WALLET }, { ttlS: 600 });
const apiKey = fc.oneof(
  { arbitrary: fc.constantFrom(adminKey, walletKey), weight: 3 },
  fc.constantFrom(undefined, "", "tenant.", "tenant-admin.a.b.c", `${walletKey}x`, walletKey.toUpperCase()),
  fc.string({ maxLength: 60 }).filter((text) => /^[\x20-\x7e]*$/.test(text)),
  fc.string({ maxLength: 40 }).map((text) => `tenant.${Buffer.from(text).toString("base64url")}`),
);
const lastEventId = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 3 },
  fc.constantFrom("1-1", "0-0", "-1", "99999999999999999999-1", "abc", ""),
  fc.string({ maxLength: 30 }).filter((text) => /^[\x20-\x7e]*$/.test(text)),
);

interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
}

/**
 * One GET with the path exactly as given (fetch would normalise it). A stream is left as soon as its
 * headers arrive: the client that disconnects is part of what is fuzzed.
 */
function get(url: string, path: string, headers: Record<string, string | undefined>): Promise<Answer> {
  const defined = Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== undefined)) as Record<
    string,
    string
  >;
  return new Promise((resolve, reject) => {
    const outgoing = request(`${url}${path}`, { headers: defined, agent: false }, (response) => {
      const answer = { status: response.statusCode ?? 0, contentType: response.headers["content-type"] };
      if (answer.status === 200) {
        outgoing.destroy();
        resolve(answer);
        return;
      }
      response.resume();
      response.on("end", () => resolve(answer));
    });
    outgoing.on("error", (error) => {
      if (!outgoing.destroyed) reject(error);
    });
    outgoing.end();
  });
}

describe("SSE route under random paths, queries and headers", () => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald({
      nats: false,
      env: { HERALD_TENANT_JWT_SECRET: SECRET, HERALD_SSE_TIMEOUT_S: "5" },
    });
  });
  afterAll(async () => {
    await herald?.cleanup();
  });

  it("answers 4xx, 204 or a 200 stream, never 5xx, and keeps serving", { timeout: 120_000 }, async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { arbitrary: fc.constantFrom("", "/tenant", "/tenant-admin"), weight: 3 },
          { arbitrary: segment.map((text) => `/${text}`), weight: 1 },
        ),
        fc.tuple(wallet, topic, segment, segment, segment),
        query,
        apiKey,
        lastEventId,
        async (prefix, segments, search, key, eventId) => {
          const path = `${prefix}/v1/sse/${segments.join("/")}${search}`;
          const answer = await get(herald.url, path, { "x-api-key": key, "last-event-id": eventId });
          seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
          expect(
            answer.status === 200 || answer.status === 204 || (answer.status >= 400 && answer.status < 500),
            `${answer.status} for ${path}`,
          ).toBe(true);
          if (answer.status === 200) expect(answer.contentType).toMatch(/^text\/event-stream/);
        },
      ),
      {
        numRuns: 300,
        // Run first, whatever the random inputs bring: a wait to its 200 stream, a repeat with a
        // Last-Event-ID (204), another wallet's wait (403) and a look_back that is no number (422).
        // A 204 needs a valid path, key and id at once, which 300 random runs do not always draw.
        examples: [
          ["", [WALLET, "connections", "connection_id", "c-1", "completed"], "", walletKey, undefined],
          ["", [WALLET, "connections", "connection_id", "c-1", "completed"], "", walletKey, "1-1"],
          ["", [randomUUID(), "connections", "connection_id", "c-1", "completed"], "", walletKey, undefined],
          ["", [WALLET, "connections", "connection_id", "c-1", "completed"], "?look_back=NaN", walletKey, undefined],
        ],
      },
    );
    // The property ran through every kind of answer, not only refusals.
    expect([...seen.keys()].sort()).toEqual(expect.arrayContaining([200, 204, 403, 422]));

    // Every abandoned stream was forgotten, and the service still answers a real wait.
    await expect.poll(() => herald.herald.waypoint.waiterCount, { interval: 20 }).toBe(0);
    expect((await fetch(`${herald.url}/healthz`)).status).toBe(200);
    const template = fixtureTenantEvents()[0]!;
    const event = {
      ...template,
      wallet_id: WALLET,
      group_id: "acme",
      payload: { ...template.payload, connection_id: randomUUID(), state: "completed" },
    };
    const ingested = await fetch(`${herald.url}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_INGEST_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(event),
    });
    expect(ingested.status).toBe(202);
    const waited = await fetch(
      `${herald.url}/v1/sse/${WALLET}/${event.topic}/connection_id/${event.payload.connection_id}/completed`,
      {
        headers: { "x-api-key": walletKey },
      },
    );
    expect(waited.status).toBe(200);
    expect(await waited.text()).toContain(event.payload.connection_id);
  });
});
