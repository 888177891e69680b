import { randomUUID } from "node:crypto";
import type { AllFrom, InMemoryLog, LogPosition, LogRecord } from "./in-memory-log.js";
import { checkpointResp, parsePosition, streamIdentifier, streamName, toReadResp } from "./messages.js";
import { type GrpcJs, grpc, type StreamsPb, streamsPb } from "./protocol.js";

type ReadCall = GrpcJs.ServerWritableStream<StreamsPb.ReadReq, StreamsPb.ReadResp>;
type Options = StreamsPb.ReadReq.Options;

/**
 * The server's default filter search window when the client asks for a "count" window. The
 * documentation does not state it; 32 is the value the server passes for its filtered reads.
 */
const DEFAULT_SEARCH_WINDOW = 32;

/**
 * Streams.Read: one handler serves reading a stream, reading `$all`, and subscribing to `$all`,
 * told apart by the request's options. Subscriptions to a single stream are not part of what the
 * herald adapter uses and are answered UNIMPLEMENTED.
 */
export function readHandler(log: InMemoryLog, subscriptions: Set<() => void>, subscriptionStarts: AllFrom[]) {
  return (call: ReadCall): void => {
    const options = call.request.getOptions();
    if (!options) {
      call.emit("error", serviceError(grpc.status.INVALID_ARGUMENT, "ReadReq has no options"));
      return;
    }
    const structuredIds = options.getUuidOption()?.hasStructured() ?? true;
    const forwards = options.getReadDirection() === streamsPb.ReadReq.Options.ReadDirection.FORWARDS;
    const subscribing = options.getCountOptionCase() === streamsPb.ReadReq.Options.CountOptionCase.SUBSCRIPTION;
    const count = subscribing ? 0n : BigInt(options.getCount() || "0");

    if (options.hasStream()) {
      if (subscribing) {
        call.emit(
          "error",
          serviceError(grpc.status.UNIMPLEMENTED, "the test server does not subscribe to single streams"),
        );
        return;
      }
      readStream(log, call, options.getStream()!, forwards, count, structuredIds);
      return;
    }
    const all = options.getAll();
    if (!all) {
      call.emit("error", serviceError(grpc.status.INVALID_ARGUMENT, "ReadReq names neither a stream nor $all"));
      return;
    }
    const from: AllFrom = all.hasPosition() ? parsePosition(all.getPosition()!) : all.hasEnd() ? "end" : "start";
    const filter = parseFilter(options);
    if (subscribing) {
      subscriptionStarts.push(from);
      void subscribeToAll(log, call, from, filter, structuredIds, subscriptions);
      return;
    }
    const records = log.readAll(from, forwards ? "forwards" : "backwards", count, filter?.matches);
    for (const record of records) call.write(toReadResp(record, structuredIds, true));
    call.end();
  };
}

function readStream(
  log: InMemoryLog,
  call: ReadCall,
  streamOptions: StreamsPb.ReadReq.Options.StreamOptions,
  forwards: boolean,
  count: bigint,
  structuredIds: boolean,
): void {
  const name = streamName(streamOptions.getStreamIdentifier());
  if (!log.streamExists(name)) {
    // The server answers a read of a missing stream with one StreamNotFound message, not an error.
    const notFound = new streamsPb.ReadResp.StreamNotFound();
    notFound.setStreamIdentifier(streamIdentifier(name));
    const resp = new streamsPb.ReadResp();
    resp.setStreamNotFound(notFound);
    call.write(resp);
    call.end();
    return;
  }
  const from = streamOptions.hasRevision()
    ? BigInt(streamOptions.getRevision())
    : streamOptions.hasEnd()
      ? "end"
      : "start";
  for (const record of log.readStream(name, from, forwards ? "forwards" : "backwards", count)) {
    call.write(toReadResp(record, structuredIds, false));
  }
  call.end();
}

interface Filter {
  matches(record: LogRecord): boolean;
  /** Send a checkpoint after this many records have been looked at. */
  readonly checkpointEvery: number;
}

/**
 * A filter matches the stream name or the event type, by prefixes or by a regular expression (the
 * server's regexes are .NET ones; the patterns clients send, such as `^[^$].*`, mean the same in
 * JavaScript).
 */
function parseFilter(options: Options): Filter | undefined {
  if (options.getFilterOptionCase() !== streamsPb.ReadReq.Options.FilterOptionCase.FILTER) return undefined;
  const filterOptions = options.getFilter()!;
  const onStream = filterOptions.hasStreamIdentifier();
  const expression = onStream ? filterOptions.getStreamIdentifier() : filterOptions.getEventType();
  const prefixes = expression?.getPrefixList() ?? [];
  const regex = expression?.getRegex() ? new RegExp(expression.getRegex()) : undefined;
  const window = filterOptions.hasMax() ? filterOptions.getMax() : DEFAULT_SEARCH_WINDOW;
  const multiplier = Math.max(1, filterOptions.getCheckpointintervalmultiplier());
  return {
    matches(record) {
      const value = onStream ? record.stream : record.type;
      if (prefixes.length > 0 && !prefixes.some((prefix) => value.startsWith(prefix))) return false;
      return regex ? regex.test(value) : true;
    },
    checkpointEvery: window * multiplier,
  };
}

/**
 * A catch-up subscription to `$all`: a confirmation, every record after `from` (exclusive), a
 * caught-up message (sent by servers since 23.10; older ones send nothing there), then live
 * records as they are appended. With a filter, a checkpoint goes out every `checkpointEvery`
 * records looked at, whether or not they passed, so that a client can move its position past long
 * stretches of filtered-out events.
 *
 * The live listener is registered in the same synchronous step as the catch-up snapshot is
 * taken, so nothing appended in between can be missed or sent twice.
 */
async function subscribeToAll(
  log: InMemoryLog,
  call: ReadCall,
  from: AllFrom,
  filter: Filter | undefined,
  structuredIds: boolean,
  subscriptions: Set<() => void>,
): Promise<void> {
  const queue: LogRecord[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const stop = () => {
    ended = true;
    wake?.();
  };
  const unsubscribe = log.onAppend((records) => {
    queue.push(...records);
    wake?.();
  });
  subscriptions.add(stop);
  call.on("cancelled", stop);
  call.on("close", stop);
  call.on("error", stop);

  const start: LogPosition | "start" = from === "end" ? (log.lastPosition() ?? "start") : from;
  queue.push(...log.recordsAfter(start));
  let caughtUpAt = queue.length;

  const confirmation = new streamsPb.ReadResp.SubscriptionConfirmation();
  confirmation.setSubscriptionId(randomUUID());
  const confirmed = new streamsPb.ReadResp();
  confirmed.setConfirmation(confirmation);

  let scanned = 0;
  try {
    await send(call, confirmed);
    while (!ended) {
      if (caughtUpAt === 0) {
        const caughtUp = new streamsPb.ReadResp();
        caughtUp.setCaughtUp(new streamsPb.ReadResp.CaughtUp());
        await send(call, caughtUp);
        caughtUpAt = -1;
      }
      const record = queue.shift();
      if (!record) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        continue;
      }
      if (caughtUpAt > 0) caughtUpAt--;
      if (!filter || filter.matches(record)) await send(call, toReadResp(record, structuredIds, true));
      if (filter && ++scanned % filter.checkpointEvery === 0) await send(call, checkpointResp(record.position));
    }
  } catch {
    // The call went away (client cancelled, server shutting down): nothing left to tell anyone.
  } finally {
    unsubscribe();
    subscriptions.delete(stop);
  }
}

/** Writes one message, waiting for the transport to drain when it asks us to. */
async function send(call: ReadCall, message: StreamsPb.ReadResp): Promise<void> {
  if (call.destroyed || call.cancelled) throw new Error("call is gone");
  if (call.write(message)) return;
  await new Promise<void>((resolve, reject) => {
    const onDrain = () => {
      call.off("close", onClose);
      resolve();
    };
    const onClose = () => {
      call.off("drain", onDrain);
      reject(new Error("call is gone"));
    };
    call.once("drain", onDrain);
    call.once("close", onClose);
  });
}

function serviceError(code: GrpcJs.status, details: string): GrpcJs.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}
