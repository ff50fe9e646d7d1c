export * from "./model";
export * from "./tables";
export * from "./host-network";
export type { Backend, Capabilities, EntryError, HostInterface, TableBackend, Tables } from "./backend";
export { TABLE_DELETE_ORDER, TABLE_UPSERT_ORDER } from "./backend";
export { CachingTable } from "./caching-table";
export type { ApplyOutcome } from "./caching-table";
export { NotFoundError, NotSupportedError, PtablesError, ValidationError, errorMessage } from "./errors";
export * as testing from "./testing";
