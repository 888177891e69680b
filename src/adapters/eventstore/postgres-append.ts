import { sql } from "kysely";
import { newEventId } from "./event-id.js";
import {
  type AnyEvent,
  type AppendFence,
  type AppendOutcome,
  type AppendRequest,
  type ExpectedRevision,
  FenceMovedError,
  WrongExpectedVersionError,
} from "./event-store.js";

/** herald_append's codes for the expected revisions that are not a revision; -1 is also "no stream" in its answers. */
const EXPECTED_CODES: Record<Exclude<ExpectedRevision, bigint>, bigint> = {
  no_stream: -1n,
  any: -2n,
  stream_exists: -3n,
};
const NO_STREAM = -1n;

interface AppendRow {
  /** From 1; 0 is the fence check, which failed. */
  request_index: number;
  appended: boolean;
  /** Appended: the revision of the request's last event (the stream's when it had none); refused: the stream's. */
  stream_revision: bigint;
  /** The appending transaction's id as text, when anything was written. */
  commit_xid: string | null;
  /** The position of the request's last event, when it wrote any. */
  last_position: bigint | null;
}

/**
 * One appendMany as a single call of herald_append (migration 0004), one round trip whatever the
 * batch. It keeps the rules the port promises: every request succeeds or fails on its own revision
 * check; requests to one stream apply in the order given; streams are locked in one global order
 * (by name), so batches cannot deadlock; a request with no events is a revision check (on a stream
 * that exists, held until commit by a row lock; on a missing one, a plain read). Revision checks
 * are conditional writes (UPDATE … WHERE revision = expected, INSERT … ON CONFLICT DO NOTHING for
 * no_stream), so a stream costs one row write and no separate lock. The fence's
 * advisory lock comes first, before anything takes a transaction id: a lock assigns none, so
 * fenced appends get their ids, their order in the log, in the order they took the fence. A check
 * shares the lock and reads the fence stream, which no fenced write can move before it commits; a
 * write takes it alone (a row lock FOR SHARE would not do: a share locker can pass a waiting
 * exclusive one).
 */
export function appendStatement(requests: readonly AppendRequest<AnyEvent>[], fence: AppendFence | undefined) {
  const eventRequests: number[] = [];
  const ids: string[] = [];
  const types: string[] = [];
  const data: string[] = [];
  const metadata: string[] = [];
  requests.forEach((request, index) => {
    for (const event of request.events) {
      eventRequests.push(index + 1);
      ids.push(event.id ?? newEventId());
      types.push(event.type);
      data.push(JSON.stringify(event.data));
      metadata.push(JSON.stringify(event.metadata));
    }
  });
  const fenceExpected = fence?.expectedRevision === undefined ? null : encode(fence.expectedRevision);
  return sql<AppendRow>`
    select request_index, appended, stream_revision, commit_xid, last_position
    from herald_append(
      ${sql.val(requests.map((request) => request.stream))}::text[],
      ${sql.val(requests.map((request) => encode(request.expectedRevision)))}::bigint[],
      ${sql.val(eventRequests)}::int[],
      ${sql.val(ids)}::uuid[],
      ${sql.val(types)}::text[],
      ${sql.val(data)}::jsonb[],
      ${sql.val(metadata)}::jsonb[],
      ${fence?.stream ?? null}::text,
      ${fenceExpected}::bigint)`;
}

/** herald_append's rows as the port's outcomes; throws FenceMovedError when the fence check failed. */
export function toAppendOutcomes(
  requests: readonly AppendRequest<AnyEvent>[],
  fence: AppendFence | undefined,
  rows: readonly AppendRow[],
): AppendOutcome[] {
  const [first] = rows;
  if (first && first.request_index === 0 && fence?.expectedRevision !== undefined) {
    throw new FenceMovedError(fence.stream, fence.expectedRevision, revisionOrNoStream(first.stream_revision));
  }
  if (rows.length !== requests.length)
    throw new Error(`herald_append answered ${rows.length} rows for ${requests.length} requests`);
  const commit = BigInt(first?.commit_xid ?? 0);
  return requests.map((request, index): AppendOutcome => {
    const row = rows[index]!;
    const revision = BigInt(row.stream_revision);
    if (!row.appended) {
      return {
        ok: false,
        error: new WrongExpectedVersionError(request.stream, request.expectedRevision, revisionOrNoStream(revision)),
      };
    }
    const prepare = row.last_position === null ? 0n : BigInt(row.last_position);
    return { ok: true, result: { nextRevision: revision, position: { commit, prepare } } };
  });
}

function encode(expected: ExpectedRevision): string {
  return (typeof expected === "bigint" ? expected : EXPECTED_CODES[expected]).toString();
}

function revisionOrNoStream(revision: bigint): bigint | "no_stream" {
  return BigInt(revision) === NO_STREAM ? "no_stream" : BigInt(revision);
}
