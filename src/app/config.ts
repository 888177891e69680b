import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { FAULT_POINTS, type FaultPoint } from "./fault-injection.js";
import type { LogFormat } from "./logger.js";

/**
 * herald's configuration: only the variables of the table in README.md ("Configuration"), validated at
 * start. A bad value stops start-up with one line naming the variable.
 */
export interface Config {
  readonly port: number;
  readonly host: string;
  /** Unset: embedded PGlite in dataDir. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly eventstoreUrl: string | undefined;
  readonly natsUrl: string | undefined;
  readonly txSubject: string;
  readonly txStream: string;
  readonly tenantEventsSubject: string;
  readonly tenantEventsStream: string;
  readonly natsDurable: string;
  readonly ingestToken: string | undefined;
  readonly siweDomain: string;
  readonly siweChainIds: readonly number[] | undefined;
  readonly siweMaxTtlS: number;
  readonly adminAddresses: readonly string[];
  readonly auditorAddresses: readonly string[];
  readonly tenantJwtSecret: string | undefined;
  /** `tenant-admin.<this>` waits on every wallet, as acapy-cloud's tenant admin API key does; undefined: refused. */
  readonly tenantAdminApiKey: string | undefined;
  readonly allowPrivateTargets: boolean;
  readonly deliveryTimeoutMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly workerConcurrency: number;
  readonly endpointConcurrency: number;
  readonly endpointDisableAfterS: number;
  readonly maxPayloadBytes: number;
  /** A NATS consumer with messages waiting that settles none for this long is not ready. */
  readonly ingestStallS: number;
  readonly sseTimeoutS: number;
  readonly sseKeepaliveS: number;
  readonly sseMaxLookBackS: number;
  readonly sseMaxWaitersPerKey: number;
  readonly sseMaxWaitersPerAddress: number;
  /** HTTP edge: a request's headers, the whole request (headers and body), and an idle connection. */
  readonly httpHeadersTimeoutMs: number;
  readonly httpRequestTimeoutMs: number;
  readonly httpConnectionTimeoutMs: number;
  /** 32 bytes. */
  readonly encryptionKey: Buffer;
  readonly playground: boolean;
  /** The delivery console at /console (HERALD_CONSOLE). */
  readonly console: boolean;
  /** The largest GraphQL answer (JSON bytes). */
  readonly graphqlMaxResponseBytes: number;
  /** Quotas: live endpoints per subscriber, live subscriptions per endpoint. */
  readonly maxEndpointsPerSubscriber: number;
  readonly maxSubscriptionsPerEndpoint: number;
  readonly logLevel: string;
  /** Unset: pretty on a terminal, JSON otherwise (logger.ts). */
  readonly logFormat: LogFormat | undefined;
  /** Tests and drills only: where the process kills itself (fault-injection.ts). */
  readonly faultAt: FaultPoint | undefined;
  /** True when running on embedded storage (no DATABASE_URL). */
  readonly embedded: boolean;
  /** Secrets generated for embedded mode, to print once at start. */
  readonly generated: readonly ("HERALD_INGEST_TOKEN" | "HERALD_TENANT_JWT_SECRET" | "HERALD_ENCRYPTION_KEY")[];
}

export class ConfigError extends Error {
  readonly code = "CONFIG_INVALID";
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = "ConfigError";
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env = process.env): Config {
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === "" ? undefined : value;
  };
  const int = (name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
    const value = Number(raw);
    if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
    return value;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = read(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (["true", "1", "yes"].includes(raw)) return true;
    if (["false", "0", "no"].includes(raw)) return false;
    throw new ConfigError(name, `expected true or false, got "${raw}"`);
  };
  const url = (name: string, protocols: readonly string[]): string | undefined => {
    const raw = read(name);
    if (raw === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError(name, "is not a URL");
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(name, `must start with ${protocols.map((p) => `${p}//`).join(" or ")}`);
    }
    return raw;
  };
  const addresses = (name: string): string[] => {
    const raw = read(name);
    if (raw === undefined) return [];
    return raw.split(",").map((part) => {
      const address = part.trim();
      if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new ConfigError(name, `"${address}" is not an Ethereum address`);
      return address.toLowerCase();
    });
  };
  const subject = (name: string, fallback: string): string => {
    const value = read(name) ?? fallback;
    if (/\s/.test(value)) throw new ConfigError(name, "must not contain white space");
    return value;
  };

  const port = int("PORT", 4000, 0, 65535);
  const databaseUrl = url("DATABASE_URL", ["postgres:", "postgresql:"]);
  const embedded = databaseUrl === undefined;
  const dataDir = resolve(read("HERALD_DATA_DIR") ?? ".herald");

  const chainIdsRaw = read("HERALD_SIWE_CHAIN_IDS");
  const siweChainIds = chainIdsRaw?.split(",").map((part) => {
    const trimmed = part.trim();
    if (!/^\d+$/.test(trimmed)) throw new ConfigError("HERALD_SIWE_CHAIN_IDS", `"${trimmed}" is not a chain id`);
    return Number(trimmed);
  });

  const generated: Config["generated"][number][] = [];
  const embeddedSecret = (name: Config["generated"][number], make: () => string): string | undefined => {
    const value = read(name);
    if (value !== undefined || !embedded) return value;
    const { value: secret, created } = dataDirSecret(dataDir, name, make);
    if (created) generated.push(name);
    return secret;
  };

  const encryptionKeyText = embeddedSecret("HERALD_ENCRYPTION_KEY", () => randomBytes(32).toString("base64"));
  if (encryptionKeyText === undefined) {
    throw new ConfigError(
      "HERALD_ENCRYPTION_KEY",
      "is required with DATABASE_URL: 32 random bytes in base64 (openssl rand -base64 32)",
    );
  }
  const encryptionKey = Buffer.from(encryptionKeyText, "base64");
  if (encryptionKey.length !== 32)
    throw new ConfigError("HERALD_ENCRYPTION_KEY", "must be 32 bytes in base64 (openssl rand -base64 32)");

  const retryBaseMs = int("HERALD_RETRY_BASE_MS", 5000, 1);
  const retryMaxMs = int("HERALD_RETRY_MAX_MS", 21_600_000, 1);
  if (retryMaxMs < retryBaseMs)
    throw new ConfigError("HERALD_RETRY_MAX_MS", "must not be less than HERALD_RETRY_BASE_MS");
  const httpHeadersTimeoutMs = int("HERALD_HTTP_HEADERS_TIMEOUT_MS", 10_000, 100, 3_600_000);
  const httpRequestTimeoutMs = int("HERALD_HTTP_REQUEST_TIMEOUT_MS", 30_000, 100, 3_600_000);
  // Node refuses a headers timeout longer than the request's, which includes the headers.
  if (httpHeadersTimeoutMs > httpRequestTimeoutMs) {
    throw new ConfigError("HERALD_HTTP_HEADERS_TIMEOUT_MS", "must not be more than HERALD_HTTP_REQUEST_TIMEOUT_MS");
  }
  const logLevel = read("LOG_LEVEL") ?? "info";
  if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(logLevel)) {
    throw new ConfigError("LOG_LEVEL", "must be one of fatal, error, warn, info, debug, trace, silent");
  }
  const logFormat = read("LOG_FORMAT");
  if (logFormat !== undefined && logFormat !== "json" && logFormat !== "pretty") {
    throw new ConfigError("LOG_FORMAT", "must be json or pretty");
  }

  const faultAt = read("HERALD_FAULT_AT");
  if (faultAt !== undefined && !(FAULT_POINTS as readonly string[]).includes(faultAt)) {
    throw new ConfigError("HERALD_FAULT_AT", `must be one of ${FAULT_POINTS.join(", ")}`);
  }

  return {
    port,
    host: read("HOST") ?? "127.0.0.1",
    databaseUrl,
    dataDir,
    eventstoreUrl: url("EVENTSTORE_URL", ["esdb:", "esdb+discover:", "kurrentdb:", "kurrentdb+discover:"]),
    natsUrl: url("NATS_URL", ["nats:", "tls:", "ws:", "wss:"]),
    txSubject: subject("HERALD_TX_SUBJECT", "asset-register.transactions"),
    txStream: subject("HERALD_TX_STREAM", "ASSET_REGISTER"),
    tenantEventsSubject: subject("HERALD_TENANT_EVENTS_SUBJECT", "cloudapi.aries.events.*.*"),
    tenantEventsStream: subject("HERALD_TENANT_EVENTS_STREAM", "cloudapi_aries_events"),
    natsDurable: subject("HERALD_NATS_DURABLE", "herald"),
    ingestToken: embeddedSecret("HERALD_INGEST_TOKEN", () => randomBytes(24).toString("base64url")),
    siweDomain: read("HERALD_SIWE_DOMAIN") ?? `localhost:${port}`,
    siweChainIds,
    siweMaxTtlS: int("HERALD_SIWE_MAX_TTL_S", 86_400, 1),
    adminAddresses: addresses("HERALD_ADMIN_ADDRESSES"),
    auditorAddresses: addresses("HERALD_AUDITOR_ADDRESSES"),
    tenantJwtSecret: embeddedSecret("HERALD_TENANT_JWT_SECRET", () => randomBytes(32).toString("base64url")),
    tenantAdminApiKey: read("HERALD_TENANT_ADMIN_API_KEY") || undefined,
    allowPrivateTargets: bool("HERALD_ALLOW_PRIVATE_TARGETS", false),
    deliveryTimeoutMs: int("HERALD_DELIVERY_TIMEOUT_MS", 15_000, 1),
    retryBaseMs,
    retryMaxMs,
    workerConcurrency: int("HERALD_WORKER_CONCURRENCY", 64, 1, 10_000),
    endpointConcurrency: int("HERALD_ENDPOINT_CONCURRENCY", 10, 1, 10_000),
    endpointDisableAfterS: int("HERALD_ENDPOINT_DISABLE_AFTER_S", 432_000, 1),
    maxPayloadBytes: int("HERALD_MAX_PAYLOAD_BYTES", 262_144, 1, 64 * 1024 * 1024),
    ingestStallS: int("HERALD_INGEST_STALL_S", 30, 1, 86_400),
    sseTimeoutS: int("HERALD_SSE_TIMEOUT_S", 60, 1),
    sseKeepaliveS: int("HERALD_SSE_KEEPALIVE_S", 15, 1),
    sseMaxLookBackS: int("HERALD_SSE_MAX_LOOK_BACK_S", 300, 0),
    sseMaxWaitersPerKey: int("HERALD_SSE_MAX_WAITERS_PER_KEY", 100, 1, 1_000_000),
    sseMaxWaitersPerAddress: int("HERALD_SSE_MAX_WAITERS_PER_ADDRESS", 1000, 1, 1_000_000),
    httpHeadersTimeoutMs,
    httpRequestTimeoutMs,
    httpConnectionTimeoutMs: int("HERALD_HTTP_CONNECTION_TIMEOUT_MS", 60_000, 100, 3_600_000),
    encryptionKey,
    playground: bool("HERALD_PLAYGROUND", true),
    console: bool("HERALD_CONSOLE", true),
    graphqlMaxResponseBytes: int("HERALD_GRAPHQL_MAX_RESPONSE_BYTES", 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maxEndpointsPerSubscriber: int("HERALD_MAX_ENDPOINTS_PER_SUBSCRIBER", 100, 1, 1_000_000),
    maxSubscriptionsPerEndpoint: int("HERALD_MAX_SUBSCRIPTIONS_PER_ENDPOINT", 100, 1, 1_000_000),
    logLevel,
    logFormat,
    faultAt: faultAt as FaultPoint | undefined,
    embedded,
    generated,
  };
}

/** Embedded mode keeps its generated secrets in the data directory, readable by its owner only. */
function dataDirSecret(dataDir: string, name: string, make: () => string): { value: string; created: boolean } {
  const file = join(dataDir, "secrets.json");
  mkdirSync(dataDir, { recursive: true });
  const secrets: Record<string, string> = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  const existing = secrets[name];
  if (existing) return { value: existing, created: false };
  secrets[name] = make();
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { value: secrets[name], created: true };
}
