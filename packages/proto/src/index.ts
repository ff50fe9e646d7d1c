/**
 * Generated protobuf code, one namespace per proto package. Nothing here is hand-written
 * except this index; regenerate with `npm run generate -w @ptables/proto`.
 */
export * as felix from "./gen/felix/felixbackend";
export * as model from "./gen/ptables/model/v1/model";
export * as sync from "./gen/ptables/policy/v1/sync";
export * as agent from "./gen/ptables/agent/v1/agent";
export * as health from "./gen/grpc/health/v1/health";
