/**
 * The identity of each table's entries: the key string that makes two keys the same entry, and
 * value equality. Backends may use their own, but keys must be canonical in the same way
 * (addresses as the compiler writes them) for a resync to find nothing to write.
 */
import type { CompiledRule, EndpointKey, EndpointValue, NeighbourKey, NeighbourValue, PortSetKey, RouteKey, RouteValue, RuleKey, SetMemberKey } from "../tables";
import { plainEquals } from "./plain-clone";

export const setMemberKeyString = (k: SetMemberKey): string => `${k.setId}/${k.family}/${k.proto}/${k.port}/${k.addr}/${k.prefixLen}`;
export const portSetKeyString = (k: PortSetKey): string => `${k.setId}/${k.port}/${k.prefixLen}`;
export const ruleKeyString = (k: RuleKey): string => `${k.programId}/${k.index}`;
export const endpointKeyString = (k: EndpointKey): string => k.ifname;
export const routeKeyString = (k: RouteKey): string => k.dst;
export const neighbourKeyString = (k: NeighbourKey): string => `${k.ifname}/${k.ip}`;

export const presentEquals = (a: true, b: true): boolean => a === b;
export const compiledRuleEquals = (a: CompiledRule, b: CompiledRule): boolean => plainEquals(a, b);
export const endpointValueEquals = (a: EndpointValue, b: EndpointValue): boolean => plainEquals(a, b);
export const routeValueEquals = (a: RouteValue, b: RouteValue): boolean => plainEquals(a, b);
export const neighbourValueEquals = (a: NeighbourValue, b: NeighbourValue): boolean => plainEquals(a, b);
