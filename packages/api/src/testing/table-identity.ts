/**
 * The identity of each table's entries: the key string that makes two keys the same entry, and
 * value equality. Backends may use their own, but keys must be canonical in the same way
 * (addresses as the compiler writes them) for a resync to find nothing to write.
 */
import { endpointValuesEqual, type CompiledRule, type EndpointKey, type EndpointValue, type NeighbourKey, type NeighbourValue, type PortSetKey, type RouteKey, type RouteValue, type RuleKey, type SetMemberKey } from "../tables";
import { plainEquals } from "./plain-clone";

export const setMemberKeyString = (k: SetMemberKey): string => `${k.setId}/${k.family}/${k.proto}/${k.port}/${k.addr}/${k.prefixLen}`;
export const portSetKeyString = (k: PortSetKey): string => `${k.setId}/${k.port}/${k.prefixLen}`;
export const ruleKeyString = (k: RuleKey): string => `${k.programId}/${k.index}`;
export const endpointKeyString = (k: EndpointKey): string => k.ifname;
export const routeKeyString = (k: RouteKey): string => k.dst;
export const neighbourKeyString = (k: NeighbourKey): string => `${k.ifname}/${k.ip}`;

export const presentEquals = (a: true, b: true): boolean => a === b;
export const compiledRuleEquals = (a: CompiledRule, b: CompiledRule): boolean => plainEquals(a, b);
/** Absent hooks and `{program: 0, length: 0}` are the same (tables.ts canonicalEndpointValue). */
export const endpointValueEquals = (a: EndpointValue, b: EndpointValue): boolean => endpointValuesEqual(a, b);
export const routeValueEquals = (a: RouteValue, b: RouteValue): boolean => plainEquals(a, b);
export const neighbourValueEquals = (a: NeighbourValue, b: NeighbourValue): boolean => plainEquals(a, b);
