/**
 * The generated protobuf classes and service definitions that ship inside the client package.
 * The fake must use these very modules: the client's serializers check `instanceof` against them.
 */
export * as streamsPb from '@kurrent/kurrentdb-client/generated/kurrentdb/protocols/v1/streams_pb';
export * as sharedPb from '@kurrent/kurrentdb-client/generated/kurrentdb/protocols/v1/shared_pb';
export * as statusPb from '@kurrent/kurrentdb-client/generated/kurrentdb/protocols/v1/status_pb';
export * as featuresPb from '@kurrent/kurrentdb-client/generated/kurrentdb/protocols/v1/serverfeatures_pb';
export { StreamsService } from '@kurrent/kurrentdb-client/generated/kurrentdb/protocols/v1/streams_grpc_pb';
export { ServerFeaturesService } from '@kurrent/kurrentdb-client/generated/kurrentdb/protocols/v1/serverfeatures_grpc_pb';
export { Any } from 'google-protobuf/google/protobuf/any_pb';
export { Timestamp } from 'google-protobuf/google/protobuf/timestamp_pb';
export { Empty as GoogleEmpty } from 'google-protobuf/google/protobuf/empty_pb';
