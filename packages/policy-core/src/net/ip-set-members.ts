/**
 * Felix IP set members, parsed. NET and IP sets hold prefixes ("10.0.0.0/24", "fd00::1/128");
 * IP_AND_PORT sets hold "<ip>,<proto>:<port>" ("10.0.0.1,tcp:8080", "fd00::1,udp:53").
 * One set mixes both families.
 */
import { IpSetType, ValidationError, type Family } from "@ptables/api";
import { familyBits, parseCidr, type Cidr } from "./ip-address";
import { PROTOCOL_NUMBERS } from "./protocols";

export interface IpPortMember {
  family: Family;
  addr: bigint;
  proto: number;
  port: number;
}

export type ParsedIpSet =
  | { kind: "net"; id: string; prefixes: Cidr[] }
  | { kind: "ip-port"; id: string; members: IpPortMember[] };

/** Parses every member of a set; a bad member is a ValidationError naming the set and member. */
export function parseIpSet(set: { id: string; type: IpSetType; members: string[] }): ParsedIpSet {
  const where = `ip set ${set.id}`;
  if (set.type === IpSetType.IP_SET_TYPE_IP_AND_PORT) {
    return { kind: "ip-port", id: set.id, members: set.members.map((m, i) => parseIpPortMember(m, `${where} member ${i}`)) };
  }
  if (set.type !== IpSetType.IP_SET_TYPE_IP && set.type !== IpSetType.IP_SET_TYPE_NET) {
    throw new ValidationError(where, `unknown ip set type ${set.type}`);
  }
  return {
    kind: "net",
    id: set.id,
    prefixes: set.members.map((m, i) => {
      const cidr = parseCidr(m);
      if (!cidr) throw new ValidationError(`${where} member ${i}`, `"${m}" is not a CIDR`);
      return cidr;
    }),
  };
}

/**
 * Parses "<ip>,<proto>:<port>". The address may carry a full-length prefix ("10.0.0.2/32",
 * as some of Felix's tests write it) or brackets for IPv6; proto is a name or a number.
 */
export function parseIpPortMember(text: string, where: string): IpPortMember {
  const comma = text.lastIndexOf(",");
  const colon = text.lastIndexOf(":");
  if (comma < 0 || colon < comma) throw new ValidationError(where, `"${text}" is not "<ip>,<proto>:<port>"`);
  let ipText = text.slice(0, comma);
  if (ipText.startsWith("[") && ipText.endsWith("]")) ipText = ipText.slice(1, -1);
  const cidr = parseCidr(ipText);
  if (!cidr || cidr.prefixLen !== familyBits(cidr.family)) {
    throw new ValidationError(where, `"${text}" does not start with a single IP address`);
  }
  const protoText = text.slice(comma + 1, colon).toLowerCase();
  const proto = PROTOCOL_NUMBERS[protoText] ?? (/^[0-9]{1,3}$/.test(protoText) ? Number(protoText) : NaN);
  if (!(proto >= 0 && proto <= 255)) throw new ValidationError(where, `"${text}" has unknown protocol "${protoText}"`);
  const portText = text.slice(colon + 1);
  const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new ValidationError(where, `"${text}" has invalid port "${portText}"`);
  return { family: cidr.family, addr: cidr.addr, proto, port };
}
