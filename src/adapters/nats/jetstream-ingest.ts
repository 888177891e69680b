import { setTimeout as sleep } from "node:timers/promises";
import { AckPolicy, type JsMsg, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type NatsConnection, nanos } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { chooseStream } from "../../domain/nats-subjects.js";
import { isPermanentAppendError } from "../eventstore/append-errors.js";
import type { AppendedRequest, AppendOutcome, AppendRequest, EventStore } from "../eventstore/event-store.js";

/** What the ingest consumer needs to know about one message. */
export interface ReceivedMessage {
  readonly body: Uint8Array;
  readonly subject: string;
  readonly messageId: string | undefined;
  readonly receivedAt: number;
}

/** A message turned into its append: the accepted event, or the record of its rejection (`rejected`: why). */
export interface DecodedMessage {
  readonly request: AppendRequest;
  readonly rejected?: string;
}

/** What became of one message once it left the consumer; `dropped`: not even its rejection could be stored. */
export type IngestOutcome =
  | { readonly kind: "accepted" }
  | { readonly kind: "rejected"; readonly code: string }
  | { readonly kind: "dropped" };

export interface JetStreamIngestOptions {
  readonly nats: NatsConnection;
  readonly store: EventStore;
  readonly logger: Logger;
  /** Created with this subject when no stream holds the subject (see chooseStream). */
  readonly stream: string;
  readonly subject: string;
  readonly durable: string;
  /** Turns a message into what to append: an accepted event, or the record of a rejection. */
  readonly decode: (message: ReceivedMessage) => DecodedMessage;
  /** The record of a message whose append the store refused for good (`reason` says how). */
  readonly refuse: (message: ReceivedMessage, reason: string) => DecodedMessage;
  /**
   * Appends a batch instead of store.appendMany, with what else belongs in the same append (the
   * deliveries scheduled at ingest); the messages are acknowledged only once it returns.
   */
  readonly append?: (requests: readonly AppendRequest[]) => Promise<AppendOutcome[]>;
  /** Called for each message when it is acknowledged or terminated (metrics, tests). */
  readonly onOutcome?: (outcome: IngestOutcome) => void;
  /** Called with each committed append's requests and outcomes, before their messages are acknowledged. */
  readonly onAppended?: (appended: readonly AppendedRequest[]) => void;
  readonly maxBatch?: number;
  /** Messages waiting and none settled for this long: the consumer is stalled (default 30 s). */
  readonly stallAfterMs?: number;
  /** How long stop lets an append in flight finish before abandoning it (default 2 s). */
  readonly stopGraceMs?: number;
}

export interface IngestStatus {
  /** Messages received and not yet acknowledged. */
  readonly waiting: number;
  /** Messages wait and none has been settled for `stallAfterMs`: appends keep failing. */
  readonly stalled: boolean;
}

export interface JetStreamIngest {
  status(): IngestStatus;
  /** Never waits on a retrying append: what is not acknowledged yet NATS redelivers later. */
  stop(): Promise<void>;
}

const DUPLICATE_WINDOW_MS = 2 * 60_000;
const ACK_WAIT_MS = 30_000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;
const STOP_GRACE_MS = 2000;

interface Pending {
  readonly msg: JsMsg;
  readonly received: ReceivedMessage;
  readonly decoded: DecodedMessage;
}

class IngestStopped extends Error {
  constructor() {
    super("ingest stopped");
    this.name = "IngestStopped";
  }
}

/**
 * A durable pull consumer that appends messages to the event store in batches and acknowledges them
 * only after the append committed: a crash between the two redelivers, and the redelivery lands on
 * the same stream (expected revision no_stream), so it is dropped as a duplicate. Malformed messages
 * are appended as rejections by `decode` and acknowledged like the others, never redelivered forever.
 *
 * Store faults that pass (connection lost, serialization conflict) are retried with backoff. A
 * permanent one (the store refuses the data itself) splits the batch until the message behind it is
 * alone; that message is recorded as refused and acknowledged, so one message never stops a consumer.
 */
export async function startJetStreamIngest(options: JetStreamIngestOptions): Promise<JetStreamIngest> {
  const { nats, logger, store } = options;
  const manager = await jetstreamManager(nats);
  const stream = await ensureStream(manager, options.stream, options.subject, logger);
  await manager.consumers.add(stream, {
    durable_name: options.durable,
    ack_policy: AckPolicy.Explicit,
    filter_subject: options.subject,
    ack_wait: nanos(ACK_WAIT_MS),
    max_ack_pending: 10_000,
  });
  const consumer = await jetstream(nats).consumers.get(stream, options.durable);

  const appendMany = options.append ?? ((requests: readonly AppendRequest[]) => store.appendMany(requests));
  const maxBatch = options.maxBatch ?? 256;
  const stallAfterMs = options.stallAfterMs ?? 30_000;
  let buffer: JsMsg[] = [];
  let flushing: Promise<void> = Promise.resolve();
  let flushScheduled = false;
  // Stopping: no further retries. Aborted: not even the append in flight is waited for.
  let stopping = false;
  const stopSignal = new AbortController();
  // Received and neither acknowledged nor terminated yet.
  const unsettled = new Set<JsMsg>();
  let lastProgressAt = Date.now();

  const settle = (item: Pending, outcome: IngestOutcome): void => {
    if (outcome.kind === "dropped") item.msg.term();
    else item.msg.ack();
    unsettled.delete(item.msg);
    lastProgressAt = Date.now();
    options.onOutcome?.(outcome);
  };
  const outcomeOf = (decoded: DecodedMessage): IngestOutcome =>
    decoded.rejected === undefined ? { kind: "accepted" } : { kind: "rejected", code: decoded.rejected };

  /** Appends, retrying transient faults until stopped; a permanent fault is returned, not retried. */
  const appendRetrying = async (
    requests: readonly AppendRequest[],
  ): Promise<{ ok: true } | { ok: false; error: unknown }> => {
    for (let attempt = 0; ; attempt++) {
      if (stopping) throw new IngestStopped();
      let outcomes: AppendOutcome[];
      try {
        // Stopping does not wait for an append that hangs on an unreachable store.
        outcomes = await abortable(appendMany(requests), stopSignal.signal);
      } catch (error) {
        if (isPermanentAppendError(error)) return { ok: false, error };
        if (stopping) throw new IngestStopped();
        logger.warn({ err: error, stream: options.stream, attempt }, "append failed; retrying the batch");
        await sleep(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt), undefined, {
          signal: stopSignal.signal,
        }).catch(() => {});
        continue;
      }
      options.onAppended?.(requests.map((request, index) => ({ request, outcome: outcomes[index]! })));
      return { ok: true };
    }
  };

  /** Appends the items, setting aside any the store refuses for good. */
  const append = async (items: readonly Pending[]): Promise<void> => {
    const result = await appendRetrying(items.map((item) => item.decoded.request));
    if (result.ok) {
      for (const item of items) settle(item, outcomeOf(item.decoded));
      return;
    }
    const [only] = items;
    if (items.length > 1 || !only) {
      // Halves until the refused message is alone: log2(batch) extra appends per bad message.
      const half = Math.ceil(items.length / 2);
      await append(items.slice(0, half));
      await append(items.slice(half));
      return;
    }
    const reason = `the event store refused it: ${describe(result.error)}`;
    logger.warn(
      { err: result.error, stream: options.stream, subject: only.received.subject },
      "message refused by the event store; recording it as rejected",
    );
    const record = options.refuse(only.received, reason);
    const recorded = await appendRetrying([record.request]);
    if (recorded.ok) return settle(only, outcomeOf(record));
    logger.error(
      { err: recorded.error, stream: options.stream, subject: only.received.subject },
      "could not record a refused message; terminating it",
    );
    settle(only, { kind: "dropped" });
  };

  const flush = async (): Promise<void> => {
    flushScheduled = false;
    const batch = buffer;
    buffer = [];
    if (batch.length === 0 || stopping) return;
    try {
      const items = batch.map((msg): Pending => {
        const received: ReceivedMessage = {
          body: msg.data,
          subject: msg.subject,
          messageId: msg.headers?.get("Nats-Msg-Id") || undefined,
          receivedAt: Date.now(),
        };
        return { msg, received, decoded: options.decode(received) };
      });
      await append(items);
    } catch (error) {
      if (error instanceof IngestStopped) return;
      // Not acknowledged: NATS redelivers after ack_wait, to this process or another.
      for (const msg of batch) unsettled.delete(msg);
      logger.error({ err: error, stream: options.stream }, "ingest batch abandoned");
    }
  };

  const messages = await consumer.consume({
    max_messages: maxBatch * 2,
    callback: (msg) => {
      buffer.push(msg);
      if (unsettled.size === 0) lastProgressAt = Date.now();
      unsettled.add(msg);
      if (buffer.length >= maxBatch) {
        flushing = flushing.then(flush);
      } else if (!flushScheduled) {
        flushScheduled = true;
        // Let the messages that arrived together gather into one append.
        setImmediate(() => {
          flushing = flushing.then(flush);
        });
      }
    },
  });

  logger.info({ stream, subject: options.subject, durable: options.durable }, "NATS ingest consuming");
  return {
    status() {
      const waiting = unsettled.size;
      return { waiting, stalled: waiting > 0 && Date.now() - lastProgressAt > stallAfterMs };
    },
    async stop() {
      stopping = true;
      // Neither a NATS server that does not answer nor an append in flight holds stopping past the grace.
      const grace = sleep(options.stopGraceMs ?? STOP_GRACE_MS, undefined, { ref: false });
      await Promise.race([
        messages
          .close()
          .catch(() => {})
          .then(() => flushing),
        grace,
      ]);
      stopSignal.abort();
      await flushing;
      // Back to NATS now rather than after ack_wait: another process (or the next start) takes them.
      for (const msg of unsettled) msg.nak();
      unsettled.clear();
    },
  };
}

/** The error's name and, for a database error, its SQLSTATE: enough to tell refusals apart, no data. */
function describe(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const name = error instanceof Error ? error.name : typeof error;
  return typeof code === "string" ? `${name} ${code}` : name;
}

function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new IngestStopped());
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** The NATS layout cannot carry the subject; the message is one line naming the stream and the subject. */
export class NatsLayoutError extends Error {
  readonly code = "NATS_LAYOUT";
  constructor(message: string) {
    super(message);
    this.name = "NatsLayoutError";
  }
}

/** Attaches to the stream that holds the subject, or creates one; returns the stream's name. */
async function ensureStream(
  manager: Awaited<ReturnType<typeof jetstreamManager>>,
  name: string,
  subject: string,
  logger: Logger,
): Promise<string> {
  const existing: { name: string; subjects: string[] }[] = [];
  for await (const info of manager.streams.list())
    existing.push({ name: info.config.name, subjects: info.config.subjects ?? [] });
  const choice = chooseStream(existing, name, subject);
  if (choice.kind === "unusable") throw new NatsLayoutError(choice.reason);
  if (choice.kind === "create") {
    await manager.streams.add({ name, subjects: [subject], duplicate_window: nanos(DUPLICATE_WINDOW_MS) });
    logger.info({ stream: name, subject }, "created NATS stream");
  } else {
    logger.info({ stream: choice.stream, subject }, "attached to NATS stream");
  }
  return choice.stream;
}
