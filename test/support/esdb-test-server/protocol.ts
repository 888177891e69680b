import { createRequire } from "node:module";
import type * as ServerFeaturesGrpc from "@eventstore/db-client/generated/serverfeatures_grpc_pb.js";
import type * as ServerFeaturesPb from "@eventstore/db-client/generated/serverfeatures_pb.js";
import type * as SharedPb from "@eventstore/db-client/generated/shared_pb.js";
import type * as StatusPb from "@eventstore/db-client/generated/status_pb.js";
import type * as StreamsGrpc from "@eventstore/db-client/generated/streams_grpc_pb.js";
import type * as StreamsPb from "@eventstore/db-client/generated/streams_pb.js";
import type * as GrpcJs from "@grpc/grpc-js";

/**
 * The EventStoreDB protocol as the client ships it. @eventstore/db-client 6.2.1 publishes no .proto
 * files, only the protoc output (`generated/*_pb.js` messages and `*_grpc_pb.js` service
 * definitions), so the test server uses those very modules. Loading them through the client
 * package's own `require` matters: the generated serializers check `instanceof` against their
 * message classes, and google-protobuf must be the instance those classes were built with.
 */
const clientRequire = createRequire(createRequire(import.meta.url).resolve("@eventstore/db-client/package.json"));

export const grpc = clientRequire("@grpc/grpc-js") as typeof GrpcJs;
export const streamsPb = clientRequire("./generated/streams_pb.js") as typeof StreamsPb;
export const streamsGrpc = clientRequire("./generated/streams_grpc_pb.js") as typeof StreamsGrpc;
export const sharedPb = clientRequire("./generated/shared_pb.js") as typeof SharedPb;
export const statusPb = clientRequire("./generated/status_pb.js") as typeof StatusPb;
export const serverFeaturesPb = clientRequire("./generated/serverfeatures_pb.js") as typeof ServerFeaturesPb;
export const serverFeaturesGrpc = clientRequire("./generated/serverfeatures_grpc_pb.js") as typeof ServerFeaturesGrpc;

/** google.protobuf.Any and Empty, as used inside google.rpc.Status details and BatchAppendResp. */
type GoogleEmpty = NonNullable<Parameters<StreamsPb.BatchAppendResp["setAny"]>[0]>;
type GoogleAny = NonNullable<Parameters<StatusPb.Status["setDetails"]>[0]>;
export const anyPb = clientRequire("google-protobuf/google/protobuf/any_pb.js") as { Any: new () => GoogleAny };
export const emptyPb = clientRequire("google-protobuf/google/protobuf/empty_pb.js") as { Empty: new () => GoogleEmpty };

export type { GrpcJs, SharedPb, StreamsPb };
