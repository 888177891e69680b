import { type GrpcJs, serverFeaturesPb } from "./protocol.js";

/** The server version the test server reports; clients only log it. */
const SERVER_VERSION = "24.10.0";

/**
 * ServerFeatures.GetSupportedMethods: the first call a client makes on a new connection, to learn
 * which methods it may use (notably BatchAppend, which the client then prefers over Append). The
 * server lists its gRPC methods lower-cased, with features for Read ("position", "events") and
 * BatchAppend ("deadline_duration"). We list only what this test server implements;
 * leaving BatchAppend out makes the client use Append.
 */
export function getSupportedMethodsHandler(options: { readonly batchAppend: boolean }) {
  return (_call: GrpcJs.ServerUnaryCall<unknown, unknown>, callback: GrpcJs.sendUnaryData<unknown>): void => {
    const methods = [
      { service: "event_store.client.streams.streams", method: "read", features: ["position", "events"] },
      { service: "event_store.client.streams.streams", method: "append", features: [] },
      ...(options.batchAppend
        ? [{ service: "event_store.client.streams.streams", method: "batchappend", features: ["deadline_duration"] }]
        : []),
      { service: "event_store.client.server_features.serverfeatures", method: "getsupportedmethods", features: [] },
    ];
    const supported = new serverFeaturesPb.SupportedMethods();
    supported.setEventStoreServerVersion(SERVER_VERSION);
    supported.setMethodsList(
      methods.map(({ service, method, features }) => {
        const entry = new serverFeaturesPb.SupportedMethod();
        entry.setServiceName(service);
        entry.setMethodName(method);
        entry.setFeaturesList(features);
        return entry;
      }),
    );
    callback(null, supported);
  };
}
