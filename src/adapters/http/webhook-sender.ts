import { createHmac } from "node:crypto";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { Agent, buildConnector, request } from "undici";
import type { AttemptReport } from "../../domain/delivery.js";
import { RESPONSE_BODY_LIMIT_BYTES } from "../../domain/delivery.js";
import { isForbiddenAddress } from "../../domain/network-address.js";
import type { AttemptErrorClass } from "../../domain/retry-policy.js";

/**
 * POSTs webhooks: Standard Webhooks signatures, one total timeout, no redirects, keep-alive pools
 * per origin (an undici Agent keeps one pool per origin), and the SSRF guard at connect time: the
 * host is resolved here, the address checked, and the socket opened to that checked address, so a
 * DNS answer cannot change between the check and the connection.
 */
export interface WebhookSenderOptions {
  readonly timeoutMs: number;
  readonly allowPrivateTargets: boolean;
  /** Connections per origin. */
  readonly connectionsPerOrigin: number;
  /**
   * A host name's addresses, asked afresh for every new connection. Default: the system resolver
   * (`dns.lookup`, which honours /etc/hosts). Deployments that must use a particular DNS server pass
   * one (a `dns.Resolver` with its servers set).
   */
  readonly resolve?: (host: string) => Promise<readonly string[]>;
}

export interface WebhookMessage {
  readonly url: string;
  /** Goes out as `webhook-id`: the delivery id, the same on every attempt. */
  readonly id: string;
  readonly body: string;
  readonly apiKey: string;
  /** `whsec_<base64 key>`. */
  readonly signingSecret: string;
}

export interface WebhookSender {
  send(message: WebhookMessage): Promise<AttemptReport>;
  close(): Promise<void>;
}

export class ForbiddenAddressError extends Error {
  readonly code = "FORBIDDEN_ADDRESS";
  constructor(host: string) {
    super(`${host} resolves only to addresses webhooks must not reach (private, loopback, link-local, …)`);
    this.name = "ForbiddenAddressError";
  }
}

export function createWebhookSender(options: WebhookSenderOptions): WebhookSender {
  const agent = new Agent({
    connect: guardedConnector(options.resolve ?? systemResolve, options.allowPrivateTargets, options.timeoutMs),
    connections: options.connectionsPerOrigin,
    keepAliveTimeout: 30_000,
    // The total timeout below is what counts; these only stop a stalled socket from outliving it.
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });

  return {
    async send(message) {
      const startedAt = Date.now();
      const started = performance.now();
      const report = (result: AttemptReport["result"], responseBody?: string): AttemptReport => ({
        result,
        url: message.url,
        startedAt,
        durationMs: Math.round(performance.now() - started),
        ...(responseBody === undefined ? {} : { responseBody }),
      });
      const timestamp = Math.floor(startedAt / 1000).toString();
      try {
        const response = await request(message.url, {
          method: "POST",
          dispatcher: agent,
          signal: AbortSignal.timeout(options.timeoutMs),
          headers: {
            "content-type": "application/json",
            "user-agent": "herald-webhooks/1",
            "x-api-key": message.apiKey,
            "webhook-id": message.id,
            "webhook-timestamp": timestamp,
            "webhook-signature": signature(message.signingSecret, message.id, timestamp, message.body),
          },
          body: message.body,
        });
        const responseBody = await readLimited(response.body, RESPONSE_BODY_LIMIT_BYTES);
        const retryAfter = response.headers["retry-after"];
        return report(
          { kind: "response", status: response.statusCode, ...(typeof retryAfter === "string" ? { retryAfter } : {}) },
          responseBody,
        );
      } catch (error) {
        return report({ kind: "error", errorClass: classify(error) });
      }
    },
    // Called once every attempt has settled: nothing in flight needs a graceful end, and a socket
    // still held by a receiver that never answered must not hold shutdown up.
    close: () => agent.destroy(),
  };
}

/** `v1,<base64 HMAC-SHA256 of id.timestamp.body>` keyed with the secret's base64 part (Standard Webhooks). */
export function signature(secret: string, id: string, timestamp: string, body: string): string {
  const key = Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

type Resolve = NonNullable<WebhookSenderOptions["resolve"]>;

async function systemResolve(host: string): Promise<readonly string[]> {
  return (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);
}

function guardedConnector(resolve: Resolve, allowPrivateTargets: boolean, timeoutMs: number): buildConnector.connector {
  const connect = buildConnector({ timeout: timeoutMs });
  return (options, callback) => {
    const host = options.hostname.replace(/^\[|\]$/g, "");
    resolveAllowed(resolve, host, allowPrivateTargets).then(
      // `host` still names the origin, so TLS checks the certificate against the name, not the address.
      (address) => connect({ ...options, hostname: address }, callback),
      (error: Error) => callback(error, null),
    );
  };
}

async function resolveAllowed(resolve: Resolve, host: string, allowPrivateTargets: boolean): Promise<string> {
  const addresses = isIP(host) ? [host] : await resolve(host);
  const allowed = allowPrivateTargets ? addresses : addresses.filter((address) => !isForbiddenAddress(address));
  const [first] = allowed;
  if (first === undefined) throw new ForbiddenAddressError(host);
  return first;
}

async function readLimited(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    // Leaving the loop destroys the stream: a huge response costs its connection, not our memory.
    if (size >= limit) break;
  }
  return Buffer.concat(chunks).subarray(0, limit).toString("utf8");
}

function classify(error: unknown): AttemptErrorClass {
  const { name, code } = error as { name?: string; code?: string };
  if (code === "FORBIDDEN_ADDRESS") return "forbidden_address";
  if (name === "TimeoutError" || name === "AbortError") return "timeout";
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT" || code === "UND_ERR_CONNECT_TIMEOUT")
    return "timeout";
  return "connection";
}
