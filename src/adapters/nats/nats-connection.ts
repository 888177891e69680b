import { connect, type NatsConnection } from "@nats-io/transport-node";

export class NatsUnavailableError extends Error {
  readonly code = "NATS_UNAVAILABLE";
  constructor(url: string, options?: ErrorOptions) {
    super(`NATS at ${url} is not reachable`, options);
    this.name = "NatsUnavailableError";
  }
}

/** Connects with endless reconnects: a NATS restart pauses ingest, it never stops herald. */
export async function connectNats(url: string, name = "herald"): Promise<NatsConnection> {
  try {
    return await connect({ servers: url, name, maxReconnectAttempts: -1, reconnectTimeWait: 500, timeout: 5000 });
  } catch (cause) {
    throw new NatsUnavailableError(url, { cause });
  }
}
