/**
 * What the reference DPU can hold. A table refuses a single entry (reported per entry, never
 * thrown) when it is malformed or over a limit; these checks say why, in words naming the field.
 */
import { DpAction, DropReason, ENDPOINT_HOOKS, MAX_SET_REFS, type CompiledRule, type EndpointKey, type EndpointValue, type NeighbourKey, type NeighbourValue, type PortSetKey, type RouteKey, type RouteValue, type RuleKey, type SetMemberKey } from "@ptables/api";
import { familyBits, parseCidr, parseIp, prefixMask } from "@ptables/policy-core";

const isUint32 = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
const inRange = (n: unknown, max: number): boolean => typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= max;

export function checkSetMember(k: SetMemberKey): string | undefined {
  if (!isUint32(k.setId) || k.setId === 0) return `setId ${k.setId} is not a non-zero 32-bit id`;
  if (k.family !== 4 && k.family !== 6) return `family ${String(k.family)} is not 4 or 6`;
  if (!inRange(k.proto, 255)) return `proto ${k.proto} is not 0..255`;
  if (!inRange(k.port, 65535)) return `port ${k.port} is not 0..65535`;
  const ip = typeof k.addr === "string" ? parseIp(k.addr) : undefined;
  if (!ip || ip.family !== k.family) return `addr "${String(k.addr)}" is not an IPv${k.family} address`;
  if (!inRange(k.prefixLen, familyBits(k.family))) return `prefixLen ${k.prefixLen} is not 0..${familyBits(k.family)}`;
  if ((ip.value & prefixMask(k.family, k.prefixLen)) !== ip.value) return `${k.addr}/${k.prefixLen} has host bits set`;
  return undefined;
}

export function checkPortSetKey(k: PortSetKey): string | undefined {
  if (!isUint32(k.setId) || k.setId === 0) return `setId ${k.setId} is not a non-zero 32-bit id`;
  if (!inRange(k.port, 65535)) return `port ${k.port} is not 0..65535`;
  if (!inRange(k.prefixLen, 16)) return `prefixLen ${k.prefixLen} is not 0..16`;
  if (k.port & ~(0xffff << (16 - k.prefixLen)) & 0xffff) return `port ${k.port}/${k.prefixLen} has bits set below its prefix`;
  return undefined;
}

const ACTIONS = new Set<number>([DpAction.Allow, DpAction.Deny, DpAction.Log, DpAction.Jump]);
const REASONS = new Set<number>(Object.values(DropReason).filter((v): v is number => typeof v === "number"));
const SET_LISTS = ["srcSets", "notSrcSets", "dstSets", "notDstSets", "srcNamedPorts", "notSrcNamedPorts", "dstNamedPorts", "notDstNamedPorts", "dstIpPortSets"] as const;
const SET_FIELDS = ["srcNet", "notSrcNet", "dstNet", "notDstNet", "srcPorts", "notSrcPorts", "dstPorts", "notDstPorts"] as const;
const BYTE_PLUS_ONE_FIELDS = ["proto", "notProto", "icmpType", "icmpCode", "notIcmpType", "notIcmpCode"] as const;

export function checkRule(key: RuleKey, r: CompiledRule, maxRules: number): string | undefined {
  if (!isUint32(key.programId) || key.programId === 0) return `programId ${key.programId} is not a non-zero 32-bit id`;
  if (!inRange(key.index, maxRules - 1)) return `rule index ${key.index} is beyond the ${maxRules} rules a program may hold`;
  if (!ACTIONS.has(r.action)) return `action ${r.action} is unknown`;
  if (!REASONS.has(r.reason)) return `drop reason ${r.reason} is unknown`;
  if (r.action === DpAction.Jump && !(Number.isInteger(r.jump) && r.jump > key.index && r.jump <= maxRules)) return `jump ${r.jump} from rule ${key.index} does not go forward within the program`;
  if (r.ipVersion !== 0 && r.ipVersion !== 4 && r.ipVersion !== 6) return `ipVersion ${String(r.ipVersion)} is not 0, 4 or 6`;
  for (const f of BYTE_PLUS_ONE_FIELDS) if (!inRange(r[f], 256)) return `${f} ${r[f]} is not 0..256`;
  for (const f of SET_FIELDS) if (!isUint32(r[f])) return `${f} ${r[f]} is not a 32-bit id`;
  for (const f of SET_LISTS) {
    const list = r[f];
    if (!Array.isArray(list) || list.length > MAX_SET_REFS) return `${f} must list at most ${MAX_SET_REFS} sets`;
    if (!list.every((id) => isUint32(id) && id !== 0)) return `${f} holds an id that is not a non-zero 32-bit id`;
  }
  if (typeof r.counterId !== "bigint" || r.counterId < 0n || r.counterId >= 1n << 64n) return `counterId ${String(r.counterId)} is not a 64-bit unsigned bigint`;
  return undefined;
}

export function checkEndpoint(key: EndpointKey, v: EndpointValue, maxRules: number): string | undefined {
  if (typeof key.ifname !== "string" || key.ifname === "") return "ifname is empty";
  if (!isUint32(v.ingressProgram) || !isUint32(v.egressProgram)) return "program ids must be 32-bit ids";
  if (!inRange(v.ingressLength, maxRules) || !inRange(v.egressLength, maxRules)) return `program lengths must be 0..${maxRules}`;
  if (!isUint32(v.flags)) return `flags ${v.flags} are not a 32-bit value`;
  for (const hook of ENDPOINT_HOOKS) {
    const ref = v[hook];
    if (ref === undefined) continue;
    if (!isUint32(ref.program)) return `${hook}.program must be a 32-bit id`;
    if (!inRange(ref.length, maxRules)) return `${hook}.length must be 0..${maxRules}`;
  }
  return undefined;
}

const ROUTE_KINDS = new Set(["unicast", "blackhole", "throw"]);

export function checkRoute(key: RouteKey, v: RouteValue): string | undefined {
  const dst = typeof key.dst === "string" ? parseCidr(key.dst) : undefined;
  if (!dst || !key.dst.includes("/")) return `dst "${String(key.dst)}" is not a CIDR`;
  if (parseIp(key.dst.slice(0, key.dst.indexOf("/")))!.value !== dst.addr) return `dst ${key.dst} has host bits set`;
  if (!ROUTE_KINDS.has(v.kind)) return `kind "${v.kind}" is not unicast, blackhole or throw`;
  if (v.via !== "" && parseIp(v.via)?.family !== dst.family) return `via "${v.via}" is not an IPv${dst.family} address`;
  if (v.kind === "unicast" && v.ifname === "" && v.via === "") return "a unicast route needs an interface or a next hop";
  return undefined;
}

export function checkNeighbour(key: NeighbourKey, v: NeighbourValue): string | undefined {
  if (typeof key.ifname !== "string" || key.ifname === "") return "ifname is empty";
  if (!parseIp(key.ip)) return `ip "${String(key.ip)}" is not an IP address`;
  if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(v.mac)) return `mac "${String(v.mac)}" is not aa:bb:cc:dd:ee:ff`;
  return undefined;
}
