import { AckPolicy, type JsMsg, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type NatsConnection, nanos } from "@nats-io/transport-node";
import pRetry, { AbortError } from "p-retry";
import type { Logger } from "pino";
import { chooseStream } from "../../domain/nats-subjects.js";
import type { AppendRequest, EventStore } from "../eventstore/event-store.js";

/** What the ingest consumer needs to know about one message. */
export interface ReceivedMessage {
  readonly body: Uint8Array;
  readonly subject: string;
  readonly messageId: string | undefined;
  readonly receivedAt: number;
}

export interface JetStreamIngestOptions {
  readonly nats: NatsConnection;
  readonly store: EventStore;
  readonly logger: Logger;
  /** Created with this subject when no stream holds the subject (see chooseStream). */
  readonly stream: string;
  readonly subject: string;
  readonly durable: string;
  /** Turns a message into what to append: an accepted event, or the record of a rejection. */
  readonly decode: (message: ReceivedMessage) => AppendRequest;
  /** Called after each batch is appended and acknowledged (metrics, tests). */
  readonly onBatch?: (count: number) => void;
  readonly maxBatch?: number;
}

export interface JetStreamIngest {
  stop(): Promise<void>;
}

const DUPLICATE_WINDOW_MS = 2 * 60_000;
const ACK_WAIT_MS = 30_000;

/**
 * A durable pull consumer that appends messages to the event store in batches and acknowledges them
 * only after the append committed: a crash between the two redelivers, and the redelivery lands on
 * the same stream (expected revision no_stream), so it is dropped as a duplicate. Malformed messages
 * are appended as rejections by `decode` and acknowledged like the others, never redelivered forever.
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

  const maxBatch = options.maxBatch ?? 256;
  let buffer: JsMsg[] = [];
  let flushing: Promise<void> = Promise.resolve();
  let flushScheduled = false;
  const stopSignal = new AbortController();

  const flush = async (): Promise<void> => {
    flushScheduled = false;
    const batch = buffer;
    buffer = [];
    if (batch.length === 0) return;
    const requests = batch.map((msg) =>
      options.decode({
        body: msg.data,
        subject: msg.subject,
        messageId: msg.headers?.get("Nats-Msg-Id") || undefined,
        receivedAt: Date.now(),
      }),
    );
    try {
      // Store faults are transient here: keep the batch and retry rather than let NATS redeliver.
      const outcomes = await pRetry(
        async () => {
          if (stopSignal.signal.aborted) throw new AbortError("ingest stopped");
          return store.appendMany(requests);
        },
        {
          retries: 1_000_000,
          minTimeout: 100,
          maxTimeout: 5000,
          signal: stopSignal.signal,
          onFailedAttempt: ({ error }) => logger.warn({ err: error, stream: options.stream }, "append failed; retrying the batch"),
        },
      );
      const duplicates = outcomes.filter((outcome) => !outcome.ok).length;
      for (const msg of batch) msg.ack();
      if (duplicates > 0) logger.debug({ duplicates, stream: options.stream }, "duplicate messages dropped");
      options.onBatch?.(batch.length);
    } catch (error) {
      // Not acknowledged: NATS redelivers after ack_wait, to this process or another.
      if (!stopSignal.signal.aborted) logger.error({ err: error, stream: options.stream }, "ingest batch abandoned");
    }
  };

  const messages = await consumer.consume({
    max_messages: maxBatch * 2,
    callback: (msg) => {
      buffer.push(msg);
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
    async stop() {
      await messages.close().catch(() => {});
      await flushing;
      stopSignal.abort();
    },
  };
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
async function ensureStream(manager: Awaited<ReturnType<typeof jetstreamManager>>, name: string, subject: string, logger: Logger): Promise<string> {
  const existing: { name: string; subjects: string[] }[] = [];
  for await (const info of manager.streams.list()) existing.push({ name: info.config.name, subjects: info.config.subjects ?? [] });
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
