/** In-memory fakes of the backend tables, for tests of everything that writes tables. */
export type { MemoryTableOptions } from "./memory-table";
export { MemoryTable } from "./memory-table";
export type { MemoryTables } from "./memory-tables";
export { createMemoryTables } from "./memory-tables";
export { clonePlain, plainEquals } from "./plain-clone";
export {
  compiledRuleEquals,
  endpointKeyString,
  endpointValueEquals,
  neighbourKeyString,
  neighbourValueEquals,
  portSetKeyString,
  presentEquals,
  routeKeyString,
  routeValueEquals,
  ruleKeyString,
  setMemberKeyString,
} from "./table-identity";
