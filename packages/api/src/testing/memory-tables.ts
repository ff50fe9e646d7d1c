/** A complete set of in-memory tables (see MemoryTable). */
import type { Tables } from "../backend";
import type { CompiledRule, EndpointKey, EndpointValue, NeighbourKey, NeighbourValue, PortSetKey, Present, RouteKey, RouteValue, RuleKey, SetMemberKey } from "../tables";
import { MemoryTable } from "./memory-table";
import * as id from "./table-identity";

/** Tables whose members are MemoryTables, so tests can inspect writes and inject failures. */
export interface MemoryTables extends Tables {
  setMembers: MemoryTable<SetMemberKey, Present>;
  portSets: MemoryTable<PortSetKey, Present>;
  rules: MemoryTable<RuleKey, CompiledRule>;
  endpoints: MemoryTable<EndpointKey, EndpointValue>;
  routes: MemoryTable<RouteKey, RouteValue>;
  neighbours: MemoryTable<NeighbourKey, NeighbourValue>;
}

export function createMemoryTables(): MemoryTables {
  return {
    setMembers: new MemoryTable({ name: "setMembers", keyString: id.setMemberKeyString, valueEquals: id.presentEquals }),
    portSets: new MemoryTable({ name: "portSets", keyString: id.portSetKeyString, valueEquals: id.presentEquals }),
    rules: new MemoryTable({ name: "rules", keyString: id.ruleKeyString, valueEquals: id.compiledRuleEquals }),
    endpoints: new MemoryTable({ name: "endpoints", keyString: id.endpointKeyString, valueEquals: id.endpointValueEquals }),
    routes: new MemoryTable({ name: "routes", keyString: id.routeKeyString, valueEquals: id.routeValueEquals }),
    neighbours: new MemoryTable({ name: "neighbours", keyString: id.neighbourKeyString, valueEquals: id.neighbourValueEquals }),
  };
}
