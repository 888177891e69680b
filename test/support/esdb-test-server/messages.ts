import type { ExpectedStreamState, LogPosition, LogRecord, ProposedEvent } from "./in-memory-log.js";
import { type SharedPb, type StreamsPb, sharedPb, streamsPb } from "./protocol.js";

/** Conversions between the protocol's messages and the in-memory log's records. */

export function streamName(identifier: SharedPb.StreamIdentifier | undefined): string {
  return identifier ? Buffer.from(identifier.getStreamName_asU8()).toString("utf8") : "";
}

export function streamIdentifier(name: string): SharedPb.StreamIdentifier {
  const identifier = new sharedPb.StreamIdentifier();
  identifier.setStreamName(Uint8Array.from(Buffer.from(name, "utf8")));
  return identifier;
}

/** A UUID arrives either as text or as two signed 64-bit halves ("structured"). */
export function parseUuid(uuid: SharedPb.UUID | undefined): string {
  if (!uuid) throw new Error("a proposed message has no id");
  if (uuid.hasStructured()) {
    const structured = uuid.getStructured()!;
    const half = (value: string) => BigInt.asUintN(64, BigInt(value)).toString(16).padStart(16, "0");
    const hex = half(structured.getMostSignificantBits()) + half(structured.getLeastSignificantBits());
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  return uuid.getString();
}

export function createUuid(id: string, structured: boolean): SharedPb.UUID {
  const uuid = new sharedPb.UUID();
  if (!structured) {
    uuid.setString(id);
    return uuid;
  }
  const hex = id.replaceAll("-", "");
  const parts = new sharedPb.UUID.Structured();
  parts.setMostSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(0, 16)}`)).toString());
  parts.setLeastSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(16)}`)).toString());
  uuid.setStructured(parts);
  return uuid;
}

type ProposedMessage = StreamsPb.AppendReq.ProposedMessage | StreamsPb.BatchAppendReq.ProposedMessage;

export function toProposedEvent(message: ProposedMessage): ProposedEvent {
  const metadata = message.getMetadataMap();
  return {
    id: parseUuid(message.getId()),
    type: metadata.get("type") ?? "",
    contentType: metadata.get("content-type") ?? "application/octet-stream",
    data: message.getData_asU8(),
    metadata: message.getCustomMetadata_asU8(),
  };
}

/**
 * An event as the server sends it in a read or subscription. Since the server tracks each event's
 * own position (`EventPosition`), stream reads carry real commit/prepare positions too; older
 * servers sent 2^64-1 there, and only `$all` reads had positions. We follow the newer behaviour.
 */
export function toReadResp(record: LogRecord, structuredIds: boolean, withAllPosition: boolean): StreamsPb.ReadResp {
  const recorded = new streamsPb.ReadResp.ReadEvent.RecordedEvent();
  recorded.setId(createUuid(record.id, structuredIds));
  recorded.setStreamIdentifier(streamIdentifier(record.stream));
  recorded.setStreamRevision(record.revision.toString());
  recorded.setCommitPosition(record.position.commit.toString());
  recorded.setPreparePosition(record.position.prepare.toString());
  const metadata = recorded.getMetadataMap();
  metadata.set("type", record.type);
  metadata.set("created", record.createdTicks.toString());
  metadata.set("content-type", record.contentType);
  recorded.setData(record.data);
  recorded.setCustomMetadata(record.metadata);

  const event = new streamsPb.ReadResp.ReadEvent();
  event.setEvent(recorded);
  if (withAllPosition) event.setCommitPosition(record.position.commit.toString());
  else event.setNoPosition(new sharedPb.Empty());
  const resp = new streamsPb.ReadResp();
  resp.setEvent(event);
  return resp;
}

export function checkpointResp(position: LogPosition): StreamsPb.ReadResp {
  const checkpoint = new streamsPb.ReadResp.Checkpoint();
  checkpoint.setCommitPosition(position.commit.toString());
  checkpoint.setPreparePosition(position.prepare.toString());
  const resp = new streamsPb.ReadResp();
  resp.setCheckpoint(checkpoint);
  return resp;
}

export function parsePosition(position: { getCommitPosition(): string; getPreparePosition(): string }): LogPosition {
  return { commit: BigInt(position.getCommitPosition()), prepare: BigInt(position.getPreparePosition()) };
}

/** AppendReq.Options and BatchAppendReq.Options name the same four cases differently. */
export function expectedFromAppendOptions(options: StreamsPb.AppendReq.Options): ExpectedStreamState {
  const Case = streamsPb.AppendReq.Options.ExpectedStreamRevisionCase;
  switch (options.getExpectedStreamRevisionCase()) {
    case Case.REVISION:
      return { kind: "revision", revision: BigInt(options.getRevision()) };
    case Case.NO_STREAM:
      return { kind: "no_stream" };
    case Case.STREAM_EXISTS:
      return { kind: "stream_exists" };
    default:
      return { kind: "any" };
  }
}

export function expectedFromBatchOptions(options: StreamsPb.BatchAppendReq.Options): ExpectedStreamState {
  const Case = streamsPb.BatchAppendReq.Options.ExpectedStreamPositionCase;
  switch (options.getExpectedStreamPositionCase()) {
    case Case.STREAM_POSITION:
      return { kind: "revision", revision: BigInt(options.getStreamPosition()) };
    case Case.NO_STREAM:
      return { kind: "no_stream" };
    case Case.STREAM_EXISTS:
      return { kind: "stream_exists" };
    default:
      return { kind: "any" };
  }
}
