import type { AppendResult, ExpectedStreamState, InMemoryLog, ProposedEvent } from "./in-memory-log.js";
import {
  expectedFromAppendOptions,
  expectedFromBatchOptions,
  parseUuid,
  streamIdentifier,
  streamName,
  toProposedEvent,
} from "./messages.js";
import { anyPb, emptyPb, type GrpcJs, grpc, type StreamsPb, sharedPb, statusPb, streamsPb } from "./protocol.js";

/** google.rpc.Code.ALREADY_EXISTS: what the server puts in a BatchAppend WrongExpectedVersion status. */
const ALREADY_EXISTS = 6;

/**
 * Streams.Append: a client stream of one Options message then the proposed events; one answer.
 * The client uses it only when the server does not list BatchAppend among its features.
 */
export function appendHandler(log: InMemoryLog) {
  return (
    call: GrpcJs.ServerReadableStream<StreamsPb.AppendReq, StreamsPb.AppendResp>,
    callback: GrpcJs.sendUnaryData<StreamsPb.AppendResp>,
  ): void => {
    let options: StreamsPb.AppendReq.Options | undefined;
    const events: ProposedEvent[] = [];
    call.on("data", (request: StreamsPb.AppendReq) => {
      if (request.hasOptions()) options = request.getOptions();
      else if (request.hasProposedMessage()) events.push(toProposedEvent(request.getProposedMessage()!));
    });
    call.on("end", () => {
      if (!options) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: "the first AppendReq must carry options" });
        return;
      }
      const expected = expectedFromAppendOptions(options);
      const result = log.append(streamName(options.getStreamIdentifier()), expected, events);
      callback(null, toAppendResp(result, expected));
    });
  };
}

function toAppendResp(result: AppendResult, expected: ExpectedStreamState): StreamsPb.AppendResp {
  const resp = new streamsPb.AppendResp();
  if (result.ok) {
    const success = new streamsPb.AppendResp.Success();
    if (result.currentRevision === undefined) success.setNoStream(new sharedPb.Empty());
    else success.setCurrentRevision(result.currentRevision.toString());
    if (result.position) {
      const position = new streamsPb.AppendResp.Position();
      position.setCommitPosition(result.position.commit.toString());
      position.setPreparePosition(result.position.prepare.toString());
      success.setPosition(position);
    } else {
      success.setNoPosition(new sharedPb.Empty());
    }
    resp.setSuccess(success);
    return resp;
  }
  // Only the current (post-20.6) fields are filled; the deprecated *_20_6_0 ones are left unset.
  const wrong = new streamsPb.AppendResp.WrongExpectedVersion();
  if (result.currentRevision === undefined) wrong.setCurrentNoStream(new sharedPb.Empty());
  else wrong.setCurrentRevision(result.currentRevision.toString());
  switch (expected.kind) {
    case "revision":
      wrong.setExpectedRevision(expected.revision.toString());
      break;
    case "no_stream":
      wrong.setExpectedNoStream(new sharedPb.Empty());
      break;
    case "stream_exists":
      wrong.setExpectedStreamExists(new sharedPb.Empty());
      break;
    case "any":
      wrong.setExpectedAny(new sharedPb.Empty());
      break;
  }
  resp.setWrongExpectedVersion(wrong);
  return resp;
}

interface PendingBatch {
  options: StreamsPb.BatchAppendReq.Options | undefined;
  readonly events: ProposedEvent[];
}

/**
 * Streams.BatchAppend: one long-lived duplex stream per client connection. Requests carry a
 * correlation id; the first request of a batch carries the options, the last has `is_final`.
 * Each finished batch gets one response with the same correlation id: success, or a
 * google.rpc.Status whose details pack an `event_store.client.WrongExpectedVersion`.
 */
export function batchAppendHandler(log: InMemoryLog) {
  return (call: GrpcJs.ServerDuplexStream<StreamsPb.BatchAppendReq, StreamsPb.BatchAppendResp>): void => {
    const pending = new Map<string, PendingBatch>();
    call.on("data", (request: StreamsPb.BatchAppendReq) => {
      const correlation = parseUuid(request.getCorrelationId());
      const batch = pending.get(correlation) ?? { options: undefined, events: [] };
      pending.set(correlation, batch);
      if (request.hasOptions()) batch.options = request.getOptions();
      for (const message of request.getProposedMessagesList()) batch.events.push(toProposedEvent(message));
      if (!request.getIsFinal()) return;
      pending.delete(correlation);
      if (!batch.options) {
        call.emit(
          "error",
          Object.assign(new Error("a batch must start with options"), { code: grpc.status.INVALID_ARGUMENT }),
        );
        return;
      }
      call.write(batchResponse(log, request.getCorrelationId()!, batch.options, batch.events));
    });
    call.on("end", () => call.end());
  };
}

function batchResponse(
  log: InMemoryLog,
  correlationId: NonNullable<ReturnType<StreamsPb.BatchAppendReq["getCorrelationId"]>>,
  options: StreamsPb.BatchAppendReq.Options,
  events: readonly ProposedEvent[],
): StreamsPb.BatchAppendResp {
  const stream = streamName(options.getStreamIdentifier());
  const expected = expectedFromBatchOptions(options);
  const result = log.append(stream, expected, events);

  const resp = new streamsPb.BatchAppendResp();
  resp.setCorrelationId(correlationId);
  resp.setStreamIdentifier(streamIdentifier(stream));
  switch (expected.kind) {
    case "revision":
      resp.setStreamPosition(expected.revision.toString());
      break;
    case "no_stream":
      resp.setNoStream(new emptyPb.Empty());
      break;
    case "stream_exists":
      resp.setStreamExists(new emptyPb.Empty());
      break;
    case "any":
      resp.setAny(new emptyPb.Empty());
      break;
  }
  if (result.ok) {
    const success = new streamsPb.BatchAppendResp.Success();
    if (result.currentRevision === undefined) success.setNoStream(new emptyPb.Empty());
    else success.setCurrentRevision(result.currentRevision.toString());
    if (result.position) {
      const position = new sharedPb.AllStreamPosition();
      position.setCommitPosition(result.position.commit.toString());
      position.setPreparePosition(result.position.prepare.toString());
      success.setPosition(position);
    } else {
      success.setNoPosition(new emptyPb.Empty());
    }
    resp.setSuccess(success);
    return resp;
  }

  const details = new sharedPb.WrongExpectedVersion();
  if (result.currentRevision === undefined) details.setCurrentNoStream(new emptyPb.Empty());
  else details.setCurrentStreamRevision(result.currentRevision.toString());
  switch (expected.kind) {
    case "revision":
      details.setExpectedStreamPosition(expected.revision.toString());
      break;
    case "no_stream":
      details.setExpectedNoStream(new emptyPb.Empty());
      break;
    case "stream_exists":
      details.setExpectedStreamExists(new emptyPb.Empty());
      break;
    case "any":
      details.setExpectedAny(new emptyPb.Empty());
      break;
  }
  const packed = new anyPb.Any();
  packed.pack(details.serializeBinary(), "event_store.client.WrongExpectedVersion");
  const status = new statusPb.Status();
  status.setCode(ALREADY_EXISTS);
  status.setMessage("WrongExpectedVersion");
  status.setDetails(packed);
  resp.setError(status);
  return resp;
}
