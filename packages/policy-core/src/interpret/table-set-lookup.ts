/**
 * SetLookups over table entries (SetMemberKey / PortSetKey), with the datapath's
 * longest-prefix-match semantics: a member prefix matches every address it covers. Entries can
 * be added and removed one by one, so a backend keeps one index in step with its tables.
 */
import { ValidationError, type Family, type PortSetKey, type SetMemberKey } from "@ptables/api";
import { familyBits, parseIp, prefixMask } from "../net/ip-address";
import type { SetLookups } from "./run-program";

/** prefixLen -> masked values present at that length. */
type PrefixGroups = Map<number, Set<bigint>>;

function memberAddr(key: SetMemberKey): bigint {
  const ip = parseIp(key.addr);
  const bits = key.family === 4 || key.family === 6 ? familyBits(key.family) : -1;
  if (!ip || ip.family !== key.family || !Number.isInteger(key.prefixLen) || key.prefixLen < 0 || key.prefixLen > bits) {
    throw new ValidationError("set member", `${key.addr}/${key.prefixLen} is not an IPv${key.family} prefix`);
  }
  return ip.value & prefixMask(key.family, key.prefixLen);
}

function portBits(key: PortSetKey): number {
  if (!Number.isInteger(key.port) || key.port < 0 || key.port > 65535 || !Number.isInteger(key.prefixLen) || key.prefixLen < 0 || key.prefixLen > 16) {
    throw new ValidationError("port set entry", `${key.port}/${key.prefixLen} is not a 16-bit port prefix`);
  }
  return key.port & portMask(key.prefixLen);
}

function portMask(prefixLen: number): number {
  return (0xffff << (16 - prefixLen)) & 0xffff;
}

function add(groups: PrefixGroups, prefixLen: number, value: bigint): void {
  let values = groups.get(prefixLen);
  if (!values) groups.set(prefixLen, (values = new Set()));
  values.add(value);
}

function remove(groups: PrefixGroups, prefixLen: number, value: bigint): boolean {
  const values = groups.get(prefixLen);
  if (!values?.delete(value)) return false;
  if (values.size === 0) groups.delete(prefixLen);
  return true;
}

export class TableSetLookup implements SetLookups {
  private readonly members = new Map<string, PrefixGroups>();
  private readonly ports = new Map<number, PrefixGroups>();

  /** An index holding the given entries. */
  static from(members: Iterable<SetMemberKey>, ports: Iterable<PortSetKey> = []): TableSetLookup {
    const lookup = new TableSetLookup();
    for (const m of members) lookup.addMember(m);
    for (const p of ports) lookup.addPort(p);
    return lookup;
  }

  private static group(setId: number, family: Family, proto: number, port: number): string {
    return `${setId}/${family}/${proto}/${port}`;
  }

  /** Adds a member (idempotent); a malformed key is a ValidationError. */
  addMember(key: SetMemberKey): void {
    const value = memberAddr(key);
    const g = TableSetLookup.group(key.setId, key.family, key.proto, key.port);
    let groups = this.members.get(g);
    if (!groups) this.members.set(g, (groups = new Map()));
    add(groups, key.prefixLen, value);
  }

  /** Removes a member; removing an absent one does nothing. */
  deleteMember(key: SetMemberKey): void {
    const g = TableSetLookup.group(key.setId, key.family, key.proto, key.port);
    const groups = this.members.get(g);
    if (groups && remove(groups, key.prefixLen, memberAddr(key)) && groups.size === 0) this.members.delete(g);
  }

  addPort(key: PortSetKey): void {
    let groups = this.ports.get(key.setId);
    if (!groups) this.ports.set(key.setId, (groups = new Map()));
    add(groups, key.prefixLen, BigInt(portBits(key)));
  }

  deletePort(key: PortSetKey): void {
    const groups = this.ports.get(key.setId);
    if (groups && remove(groups, key.prefixLen, BigInt(portBits(key))) && groups.size === 0) this.ports.delete(key.setId);
  }

  setHas(setId: number, family: Family, proto: number, port: number, ip: bigint): boolean {
    const groups = this.members.get(TableSetLookup.group(setId, family, proto, port));
    if (!groups) return false;
    for (const [prefixLen, values] of groups) if (values.has(ip & prefixMask(family, prefixLen))) return true;
    return false;
  }

  portSetHas(setId: number, port: number): boolean {
    const groups = this.ports.get(setId);
    if (!groups) return false;
    for (const [prefixLen, values] of groups) if (values.has(BigInt(port & portMask(prefixLen)))) return true;
    return false;
  }
}
