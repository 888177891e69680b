import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/app/config.js";

const key = Buffer.alloc(32, 1).toString("base64");
const server = { DATABASE_URL: "postgres://postgres@127.0.0.1:5432/x", HERALD_ENCRYPTION_KEY: key };

describe("loadConfig", () => {
  it("applies DESIGN.md's defaults", () => {
    const config = loadConfig(server);
    expect(config).toMatchObject({
      port: 4000,
      host: "127.0.0.1",
      txSubject: "asset-register.transactions",
      txStream: "ASSET_REGISTER",
      tenantEventsSubject: "cloudapi.aries.events.*.*",
      tenantEventsStream: "cloudapi_aries_events",
      natsDurable: "herald",
      siweDomain: "localhost:4000",
      siweMaxTtlS: 86_400,
      allowPrivateTargets: false,
      deliveryTimeoutMs: 15_000,
      retryBaseMs: 5000,
      retryMaxMs: 21_600_000,
      workerConcurrency: 64,
      endpointConcurrency: 10,
      endpointDisableAfterS: 432_000,
      maxPayloadBytes: 262_144,
      ingestStallS: 30,
      sseTimeoutS: 60,
      sseKeepaliveS: 15,
      sseMaxLookBackS: 300,
      sseMaxWaitersPerKey: 100,
      sseMaxWaitersPerAddress: 1000,
      httpHeadersTimeoutMs: 10_000,
      httpRequestTimeoutMs: 30_000,
      httpConnectionTimeoutMs: 60_000,
      playground: true,
      console: true,
      graphqlMaxResponseBytes: 8_388_608,
      maxEndpointsPerSubscriber: 100,
      maxSubscriptionsPerEndpoint: 100,
      logLevel: "info",
      embedded: false,
      ingestToken: undefined,
      tenantJwtSecret: undefined,
      tenantAdminApiKey: undefined,
      faultAt: undefined,
    });
  });

  it("takes a known fault point for tests and drills", () => {
    expect(loadConfig({ ...server, HERALD_FAULT_AT: "before-post" }).faultAt).toBe("before-post");
  });

  it.each([
    [{ PORT: "eighty" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ HERALD_RETRY_BASE_MS: "-5" }, "HERALD_RETRY_BASE_MS"],
    [{ HERALD_ALLOW_PRIVATE_TARGETS: "maybe" }, "HERALD_ALLOW_PRIVATE_TARGETS"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ NATS_URL: "not a url" }, "NATS_URL"],
    [{ HERALD_ADMIN_ADDRESSES: "0x123" }, "HERALD_ADMIN_ADDRESSES"],
    [{ HERALD_SIWE_CHAIN_IDS: "1,abc" }, "HERALD_SIWE_CHAIN_IDS"],
    [{ HERALD_ENCRYPTION_KEY: "c2hvcnQ=" }, "HERALD_ENCRYPTION_KEY"],
    [{ HERALD_ENCRYPTION_KEY: "" }, "HERALD_ENCRYPTION_KEY"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ LOG_FORMAT: "xml" }, "LOG_FORMAT"],
    [{ HERALD_FAULT_AT: "everywhere" }, "HERALD_FAULT_AT"],
    [{ HERALD_GRAPHQL_MAX_RESPONSE_BYTES: "100" }, "HERALD_GRAPHQL_MAX_RESPONSE_BYTES"],
    [{ HERALD_MAX_ENDPOINTS_PER_SUBSCRIBER: "0" }, "HERALD_MAX_ENDPOINTS_PER_SUBSCRIBER"],
    [{ HERALD_MAX_SUBSCRIPTIONS_PER_ENDPOINT: "many" }, "HERALD_MAX_SUBSCRIPTIONS_PER_ENDPOINT"],
    [{ HERALD_RETRY_BASE_MS: "10000", HERALD_RETRY_MAX_MS: "5000" }, "HERALD_RETRY_MAX_MS"],
    [{ HERALD_SSE_MAX_WAITERS_PER_KEY: "0" }, "HERALD_SSE_MAX_WAITERS_PER_KEY"],
    [{ HERALD_SSE_MAX_WAITERS_PER_ADDRESS: "many" }, "HERALD_SSE_MAX_WAITERS_PER_ADDRESS"],
    [{ HERALD_HTTP_REQUEST_TIMEOUT_MS: "0" }, "HERALD_HTTP_REQUEST_TIMEOUT_MS"],
    [{ HERALD_HTTP_CONNECTION_TIMEOUT_MS: "1.5" }, "HERALD_HTTP_CONNECTION_TIMEOUT_MS"],
    [
      { HERALD_HTTP_HEADERS_TIMEOUT_MS: "20000", HERALD_HTTP_REQUEST_TIMEOUT_MS: "10000" },
      "HERALD_HTTP_HEADERS_TIMEOUT_MS",
    ],
  ])("refuses %j, naming %s", (env, variable) => {
    let error: unknown;
    try {
      loadConfig({ ...server, ...env });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message.startsWith(`${variable}: `)).toBe(true);
    expect((error as ConfigError).message).not.toContain("\n");
  });

  it("generates embedded secrets once, keeps them owner-readable in the data dir, and reuses them", () => {
    const dir = mkdtempSync(join(tmpdir(), "herald-config-"));
    const first = loadConfig({ HERALD_DATA_DIR: dir });
    expect(first.embedded).toBe(true);
    expect(first.generated).toEqual(["HERALD_ENCRYPTION_KEY", "HERALD_INGEST_TOKEN", "HERALD_TENANT_JWT_SECRET"]);
    expect(first.encryptionKey).toHaveLength(32);
    const file = join(dir, "secrets.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, "utf8")).HERALD_INGEST_TOKEN).toBe(first.ingestToken);
    const second = loadConfig({ HERALD_DATA_DIR: dir });
    expect(second.generated).toEqual([]);
    expect(second.ingestToken).toBe(first.ingestToken);
    expect(second.encryptionKey.equals(first.encryptionKey)).toBe(true);
  });
});
