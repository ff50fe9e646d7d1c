/**
 * Felix's external-dataplane protocol: framing, decoding and validation into the model, the
 * desired-state store, and the status messages sent back.
 */
export { DEFAULT_MAX_FRAME_BYTES, FrameError, FrameReader, encodeFrame, readFrames } from "./framing";
export type { Frame, FrameReaderOptions } from "./framing";
export { FrameWriter } from "./frame-writer";
export { decodeToDataplane } from "./decode";
export { DesiredStateStore } from "./store";
export type { ApplyResult, DesiredStateStoreOptions, FelixWorkloadEndpoint, StoreLogger } from "./store";
export type { ObjectError, ObjectRef } from "./object-kinds";
export { configFromFelix, defaultFelixSettings, failsafePorts } from "./felix-config";
export type { ConfigProblem, FelixConfiguration, FelixSettings } from "./felix-config";
export { UNIMPLEMENTED_PAYLOADS } from "./unimplemented-payloads";
export type { UnimplementedPayloadKind, UnimplementedState } from "./unimplemented-payloads";
export {
  canonicalAddress,
  canonicalIpSetMember,
  canonicalNet,
  PROTOCOL_NUMBERS,
} from "./validate";
export {
  dataplaneInSync,
  encodeFromDataplane,
  encodeFromDataplaneFrame,
  felixTimestamp,
  hostEndpointStatusRemove,
  hostEndpointStatusUpdate,
  processStatusUpdate,
  workloadEndpointStatusRemove,
  workloadEndpointStatusUpdate,
} from "./status";
export type { HostEndpointStatus, WorkloadEndpointStatus } from "./status";
export * from "./player";
