import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/app/config.js";
import { type Herald, startHerald } from "../../src/app/herald.js";
import { createLogger } from "../../src/app/logger.js";
import { deliveryApi } from "../support/delivery-api.js";
import { fixtureTransactions } from "../support/fixtures.js";
import { graphqlClient } from "../support/graphql-client.js";
import { newAccount } from "../support/siwe.js";
import { TEST_INGEST_TOKEN } from "../support/test-herald.js";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";

/**
 * `npm start` with no server: embedded PGlite for read models and the event log. The whole webhook
 * path — GraphQL, HTTP ingest, dispatcher, worker — must work there as it does on PostgreSQL.
 */
describe("embedded storage (PGlite)", () => {
  let dataDir: string;
  let herald: Herald;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "herald-embedded-"));
    receiver = await startWebhookReceiver();
    const config = loadConfig({
      HERALD_DATA_DIR: dataDir,
      PORT: "0",
      HERALD_ALLOW_PRIVATE_TARGETS: "true",
      HERALD_INGEST_TOKEN: TEST_INGEST_TOKEN,
    });
    expect(config.embedded).toBe(true);
    herald = await startHerald(config, createLogger("warn"));
  });
  afterAll(async () => {
    await herald?.stop();
    await receiver?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("delivers an ingested transaction to a subscribed endpoint", { timeout: 60_000 }, async () => {
    const api = deliveryApi(herald.url, graphqlClient(herald.url, herald.config.siweDomain), newAccount());
    await api.endpointAt(`${receiver.url}/embedded`);
    const [seed] = fixtureTransactions();
    await api.ingest(seed!, "embedded-1");
    const [request] = await receiver.waitFor(1, "/embedded", 30_000);
    expect(JSON.parse(request!.body)).toEqual(seed);
  });
});
