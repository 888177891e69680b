/**
 * The test server's storage: one transaction log in memory, in the shape EventStoreDB documents.
 * Streams have revisions from 0; every record has a global position (commit, prepare) that grows
 * with the log; `$all` is the log in position order.
 */

export interface LogPosition {
  readonly commit: bigint;
  readonly prepare: bigint;
}

export interface ProposedEvent {
  readonly id: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly metadata: Uint8Array;
}

export interface LogRecord extends ProposedEvent {
  readonly stream: string;
  readonly revision: bigint;
  readonly position: LogPosition;
  /** .NET ticks (100 ns) since the Unix epoch, as the server reports `created`. */
  readonly createdTicks: bigint;
}

export type ExpectedStreamState =
  | { kind: "any" }
  | { kind: "no_stream" }
  | { kind: "stream_exists" }
  | { kind: "revision"; revision: bigint };

export type AppendResult =
  | { readonly ok: true; readonly currentRevision: bigint | undefined; readonly position: LogPosition | undefined }
  | { readonly ok: false; readonly currentRevision: bigint | undefined };

/** Where a read of `$all` starts: a position, or one of its ends. */
export type AllFrom = LogPosition | "start" | "end";

/**
 * Bytes a record takes in our pretend transaction log. Real positions are byte offsets in the
 * server's chunk files; the exact record layout is not documented, so this only keeps positions
 * growing by a plausible, size-dependent amount (and makes them non-contiguous, like the real ones).
 */
function recordSize(stream: string, event: ProposedEvent): bigint {
  return BigInt(80 + stream.length + event.type.length + event.data.length + event.metadata.length);
}

export function comparePositions(a: LogPosition, b: LogPosition): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

export class InMemoryLog {
  readonly #records: LogRecord[] = [];
  readonly #streams = new Map<string, LogRecord[]>();
  readonly #listeners = new Set<(records: readonly LogRecord[]) => void>();
  #nextOffset = 0n;

  /**
   * Appends atomically after checking the stream's expected state, as EventStoreDB does:
   * `no_stream` fails when the stream has events, `stream_exists` when it has none, a revision when
   * it differs from the stream's last revision; `any` never fails. The server's idempotent-write
   * check (the same event ids appended twice) is not modelled.
   */
  append(stream: string, expected: ExpectedStreamState, events: readonly ProposedEvent[]): AppendResult {
    const existing = this.#streams.get(stream);
    const current = existing && existing.length > 0 ? BigInt(existing.length - 1) : undefined;
    const matches =
      expected.kind === "any" ||
      (expected.kind === "no_stream" && current === undefined) ||
      (expected.kind === "stream_exists" && current !== undefined) ||
      (expected.kind === "revision" && current === expected.revision);
    if (!matches) return { ok: false, currentRevision: current };
    if (events.length === 0) return { ok: true, currentRevision: current, position: undefined };

    const streamRecords = existing ?? [];
    const createdTicks = BigInt(Date.now()) * 10_000n;
    const written: LogRecord[] = [];
    for (const event of events) {
      // Since v20 every event of an append is its own committed record, so a record's commit and
      // prepare positions are both its own offset. (What a multi-event append reports is not
      // documented; this keeps each event's position unique and ordered.)
      const offset = this.#nextOffset;
      this.#nextOffset += recordSize(stream, event);
      const record: LogRecord = {
        ...event,
        stream,
        revision: BigInt(streamRecords.length),
        position: { commit: offset, prepare: offset },
        createdTicks,
      };
      streamRecords.push(record);
      this.#records.push(record);
      written.push(record);
    }
    this.#streams.set(stream, streamRecords);
    for (const listener of this.#listeners) listener(written);
    const last = written.at(-1)!;
    return { ok: true, currentRevision: last.revision, position: last.position };
  }

  streamExists(stream: string): boolean {
    return (this.#streams.get(stream)?.length ?? 0) > 0;
  }

  /** Forwards from `from` (inclusive) or backwards from it (inclusive); "end" means the last event. */
  readStream(
    stream: string,
    from: bigint | "start" | "end",
    direction: "forwards" | "backwards",
    count: bigint,
  ): LogRecord[] {
    const records = this.#streams.get(stream) ?? [];
    const result: LogRecord[] = [];
    if (direction === "forwards") {
      let index = from === "start" ? 0 : from === "end" ? records.length : Number(from);
      for (; index < records.length && BigInt(result.length) < count; index++) result.push(records[index]!);
    } else {
      let index =
        from === "end" ? records.length - 1 : from === "start" ? -1 : Math.min(Number(from), records.length - 1);
      for (; index >= 0 && BigInt(result.length) < count; index--) result.push(records[index]!);
    }
    return result;
  }

  /**
   * Reads `$all`. Forwards from a position includes the record at that position; backwards from a
   * position returns only records before it. That is how the server's ReadAllEventsForward/Backward
   * treat the position they are given; subscriptions are the ones that exclude it (see
   * `recordsAfter`).
   */
  readAll(
    from: AllFrom,
    direction: "forwards" | "backwards",
    count: bigint,
    matches: (record: LogRecord) => boolean = () => true,
  ): LogRecord[] {
    const result: LogRecord[] = [];
    if (direction === "forwards") {
      let index = from === "start" ? 0 : from === "end" ? this.#records.length : this.#firstIndexAtOrAfter(from);
      for (; index < this.#records.length && BigInt(result.length) < count; index++) {
        const record = this.#records[index]!;
        if (matches(record)) result.push(record);
      }
    } else {
      let index =
        from === "end" ? this.#records.length - 1 : from === "start" ? -1 : this.#firstIndexAtOrAfter(from) - 1;
      for (; index >= 0 && BigInt(result.length) < count; index--) {
        const record = this.#records[index]!;
        if (matches(record)) result.push(record);
      }
    }
    return result;
  }

  /** Every record strictly after `from` ("start": all of them), in order: what a subscription catches up on. */
  recordsAfter(from: LogPosition | "start"): LogRecord[] {
    if (from === "start") return [...this.#records];
    let index = this.#firstIndexAtOrAfter(from);
    if (index < this.#records.length && comparePositions(this.#records[index]!.position, from) === 0) index++;
    return this.#records.slice(index);
  }

  /** The last record's position, or undefined when the log is empty. */
  lastPosition(): LogPosition | undefined {
    return this.#records.at(-1)?.position;
  }

  /** Calls `listener` with every append's records after it happens; returns the unsubscribe. */
  onAppend(listener: (records: readonly LogRecord[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #firstIndexAtOrAfter(position: LogPosition): number {
    let low = 0;
    let high = this.#records.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (comparePositions(this.#records[middle]!.position, position) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
