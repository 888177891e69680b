import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { eventMetadata } from "../../src/adapters/eventstore/event-metadata.js";
import { deliveryId, deliveryStream } from "../../src/domain/delivery.js";
import type { Transaction } from "../../src/domain/ingest-events.js";
import { DELIVERY } from "../support/delivery-api.js";
import { useDeliveryHarness } from "../support/delivery-harness.js";
import { fixtureTransactions } from "../support/fixtures.js";
import { errorCode } from "../support/graphql-client.js";
import { newAccount } from "../support/siwe.js";

const DELIVERIES = `query($webhookId: String!, $status: DeliveryStatus, $since: String, $until: String) {
  deliveries(webhookId: $webhookId, status: $status, since: $since, until: $until) { total edges { node { deliveryId status } } }
}`;

describe("delivery history over GraphQL and npx herald history", () => {
  const bob = newAccount();
  const auditor = newAccount();
  const harness = useDeliveryHarness({
    env: { HERALD_AUDITOR_ADDRESSES: auditor.address, HERALD_RETRY_BASE_MS: "200", HERALD_RETRY_MAX_MS: "2000" },
  });
  const alice = harness.owner;

  const ok = (query: string, variables: object, account = alice) => harness.api.ok(query, variables, account);
  const endpointAt = (path: string) => harness.api.endpointAt(`${harness.receiver.url}${path}`);
  const ingest = (transaction: Transaction, key: string) => harness.api.ingest(transaction, key);
  const deliveryWhen = (id: string, done: (delivery: Record<string, any>) => boolean) =>
    harness.api.deliveryWhen(id, done);

  it("shows the transaction delivered and every attempt: status, Retry-After, body, next attempt, outcome", async () => {
    const [seed] = fixtureTransactions() as [Transaction];
    harness.receiver.script("/flaky", [
      { status: 503, headers: { "retry-after": "0" }, body: "busy, try later" },
      { status: 200, body: "ok" },
    ]);
    const webhookId = await endpointAt("/flaky");
    const before = Date.now();
    const transactionId = await ingest(seed, "history-1");
    const id = deliveryId(webhookId, transactionId);

    const delivery = await deliveryWhen(id, (d) => d.status === "SUCCEEDED");
    expect(delivery).toMatchObject({
      deliveryId: id,
      webhookId,
      transactionId,
      transaction: seed,
      nextAttemptAt: null,
      failureReason: null,
    });
    expect(delivery.attempts).toEqual([
      {
        number: 1,
        startedAt: expect.any(Number),
        durationMs: expect.any(Number),
        url: `${harness.receiver.url}/flaky`,
        statusCode: 503,
        errorClass: null,
        retryAfter: "0",
        responseBody: "busy, try later",
        nextAttemptAt: expect.any(Number),
      },
      expect.objectContaining({ number: 2, statusCode: 200, responseBody: "ok", nextAttemptAt: null }),
    ]);
    expect(delivery.attempts[0].startedAt).toBeGreaterThanOrEqual(before);
    expect(delivery.attempts[0].nextAttemptAt).toBeGreaterThan(delivery.attempts[0].startedAt);
    expect(delivery.finishedAt).toBeGreaterThanOrEqual(delivery.attempts[1].startedAt);

    const list = async (variables: object) => (await ok(DELIVERIES, { webhookId, ...variables })).deliveries;
    expect(await list({})).toMatchObject({ total: 1, edges: [{ node: { deliveryId: id, status: "SUCCEEDED" } }] });
    expect((await list({ status: "FAILED" })).total).toBe(0);
    expect((await list({ since: new Date(Date.now() + 60_000).toISOString() })).total).toBe(0);
    expect(
      (
        await list({
          since: new Date(before - 60_000).toISOString(),
          until: new Date(Date.now() + 60_000).toISOString(),
        })
      ).total,
    ).toBe(1);

    // The same story in the store's own words, and for auditors.
    const trail = (
      await ok(
        `query($deliveryId: String!) { auditTrail(deliveryId: $deliveryId) { type } }`,
        { deliveryId: id },
        auditor,
      )
    ).auditTrail;
    expect(trail.map((event: any) => event.type)).toEqual([
      "DeliveryScheduled",
      "DeliveryAttempted",
      "DeliveryRetryScheduled",
      "DeliveryAttempted",
      "DeliverySucceeded",
    ]);
    expect((await ok(DELIVERY, { deliveryId: id }, auditor)).delivery.attempts).toHaveLength(2);

    // Nobody else's.
    expect(errorCode(await harness.gql(DELIVERY, { deliveryId: id }, bob))).toBe("NOT_FOUND");
    expect(errorCode(await harness.gql(DELIVERIES, { webhookId }, bob))).toBe("NOT_FOUND");
    expect(
      errorCode(
        await harness.gql(
          `query($deliveryId: String!) { auditTrail(deliveryId: $deliveryId) { type } }`,
          { deliveryId: id },
          bob,
        ),
      ),
    ).toBe("NOT_FOUND");

    // npx herald history prints the same timeline from the stream.
    const printed = await herald(["history", id]);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toContain(`delivery ${id}`);
    expect(printed.stdout).toMatch(/attempt 1: HTTP 503 \(Retry-After: 0\) in \d+ ms/);
    expect(printed.stdout).toContain('body: "busy, try later"');
    expect(printed.stdout).toMatch(/next attempt due \d{4}-/);
    expect(printed.stdout).toMatch(/attempt 2: HTTP 200 in \d+ ms/);
    expect(printed.stdout).toMatch(/succeeded\n$/);
    // As JSON, with the transaction as an object beside the text it was published as.
    const json = await herald(["history", id, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      deliveryId: id,
      transaction: seed,
      publishedText: JSON.stringify(seed),
    });
    expect((await herald(["history", "--help"])).stdout).toContain("usage: npx herald history <deliveryId>");
  });

  it("records a failure for good with its reason", async () => {
    const [seed] = fixtureTransactions() as [Transaction];
    harness.receiver.script("/refuses", [{ status: 400, body: "bad" }]);
    const webhookId = await endpointAt("/refuses");
    const id = deliveryId(webhookId, await ingest(seed, "history-2"));
    const delivery = await deliveryWhen(id, (d) => d.status === "FAILED");
    expect(delivery).toMatchObject({
      failureReason: "not_retryable",
      attempts: [{ number: 1, statusCode: 400, nextAttemptAt: null }],
    });
    expect((await ok(DELIVERIES, { webhookId, status: "FAILED" })).deliveries.total).toBe(1);
  });

  it("reports deliveries by status, attempt latency and the queue on /metrics", async () => {
    const metrics = await (await fetch(`${harness.herald.url}/metrics`)).text();
    // The second transaction went to the first test's endpoint too (its last scripted answer, 200, repeats).
    expect(metrics).toContain('herald_deliveries{status="succeeded"} 2');
    expect(metrics).toContain('herald_deliveries{status="failed"} 1');
    expect(metrics).toContain('herald_delivery_attempt_duration_seconds_count{outcome="5xx"} 1');
    expect(metrics).toContain('herald_delivery_attempt_duration_seconds_count{outcome="2xx"} 2');
    expect(metrics).toContain('herald_delivery_attempt_duration_seconds_count{outcome="4xx"} 1');
    expect(metrics).toMatch(/^herald_delivery_queue_depth 0$/m);
    expect(metrics).toMatch(/^herald_delivery_queue_oldest_due_seconds 0$/m);
    expect(metrics).toMatch(/^herald_sse_waiters 0$/m);
  });

  it("still delivers and shows a delivery recorded before it carried the transaction once: the object alone", async () => {
    const { store } = harness.herald.herald;
    const [seed] = fixtureTransactions() as [Transaction];
    const transaction = { ...seed, message: `recorded-${randomUUID()}` };
    const webhookId = await endpointAt("/old-shape");
    const transactionId = randomUUID();
    const id = deliveryId(webhookId, transactionId);
    const data = {
      deliveryId: id,
      webhookId,
      transactionId,
      subscriptionIds: [],
      transaction,
      scheduledAt: Date.now(),
    };
    const [appended] = await store.appendMany([
      {
        stream: deliveryStream(id),
        expectedRevision: "no_stream",
        events: [{ type: "DeliveryScheduled", data, metadata: eventMetadata("system:ingest") }],
      },
    ]);
    expect(appended?.ok).toBe(true);

    const delivery = await deliveryWhen(id, (d) => d.status === "SUCCEEDED");
    expect(delivery.transaction).toEqual(transaction);
    const [request] = await harness.receiver.waitFor(1, "/old-shape", 15_000);
    // The queue sends the object serialised, as the store gave it back (jsonb orders keys its own way).
    expect(request?.body).toBe(JSON.stringify(delivery.transaction));
    expect(JSON.parse(request!.body)).toEqual(transaction);
    const json = JSON.parse((await herald(["history", id, "--json"])).stdout);
    expect(json).toMatchObject({ deliveryId: id, transaction, status: "succeeded" });
    expect(json).not.toHaveProperty("publishedText");
  });

  /** Runs the CLI as an operator would, against this test's database. */
  function herald(args: string[]): Promise<{ code: number | null; stdout: string }> {
    const child = spawn(process.execPath, ["bin/herald.js", ...args], {
      env: {
        PATH: process.env.PATH ?? "",
        DATABASE_URL: harness.herald.env.DATABASE_URL!,
        HERALD_ENCRYPTION_KEY: harness.herald.env.HERALD_ENCRYPTION_KEY!,
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    return new Promise((resolve, reject) =>
      child.once("error", reject).once("exit", (code) => resolve({ code, stdout })),
    );
  }
});
