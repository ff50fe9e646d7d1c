/**
 * Field validators shared by the payload converters. Each takes the text or number Felix sent
 * and the path it came from, returns the canonical model value, and throws a ValidationError
 * naming that path when the value cannot be accepted.
 */
import { IpSetType, IpVersion, RuleAction, TierDefaultAction, ValidationError } from "@ptables/api";
import type { IcmpMatch, PortRange } from "@ptables/api";
import { felix } from "@ptables/proto";
import {
  AddressSyntaxError,
  canonicalIpv4Net,
  formatIpAddress,
  maskAddress,
  parseIpPrefix,
  type IpFamily,
} from "@ptables/api";

/** Protocol names Felix sends (lower-case), with their IP protocol numbers. */
export const PROTOCOL_NUMBERS: ReadonlyMap<string, number> = new Map([
  ["tcp", 6],
  ["udp", 17],
  ["icmp", 1],
  ["icmpv6", 58],
  ["sctp", 132],
  ["udplite", 136],
]);

/** Protocols allowed in IP_AND_PORT set members and failsafe port lists. */
export const PORT_PROTOCOLS: ReadonlySet<string> = new Set(["tcp", "udp", "sctp"]);

function syntaxError(path: string, text: string, err: unknown): ValidationError {
  if (err instanceof AddressSyntaxError) return new ValidationError(path, `${JSON.stringify(text)}: ${err.message}`);
  throw err;
}

/** "10.0.0.5/24" -> "10.0.0.0/24"; a bare address gets /32 or /128. */
export function canonicalNet(text: string, path: string, family?: IpFamily): string {
  if (family !== 6) {
    const fast = canonicalIpv4Net(text);
    if (fast !== undefined) return fast;
  }
  let prefix;
  try {
    prefix = parseIpPrefix(text);
  } catch (err) {
    throw syntaxError(path, text, err);
  }
  if (family !== undefined && prefix.address.family !== family) {
    throw new ValidationError(path, `${JSON.stringify(text)} is not an IPv${family} CIDR`);
  }
  return `${formatIpAddress(maskAddress(prefix.address, prefix.prefixLength))}/${prefix.prefixLength}`;
}

/** canonicalNet over a list; the path of entry i is `${path}[i]`. */
export function canonicalNets(list: readonly string[], path: string, family?: IpFamily): string[] {
  return list.map((text, i) => canonicalNet(text, `${path}[${i}]`, family));
}

/** A bare address (a full-length prefix such as "/32" is accepted and dropped). */
export function canonicalAddress(text: string, path: string, family?: IpFamily): string {
  let prefix;
  try {
    prefix = parseIpPrefix(text);
  } catch (err) {
    throw syntaxError(path, text, err);
  }
  const width = prefix.address.bytes.length * 8;
  if (prefix.prefixLength !== width) {
    throw new ValidationError(path, `${JSON.stringify(text)} is a network, expected an address`);
  }
  if (family !== undefined && prefix.address.family !== family) {
    throw new ValidationError(path, `${JSON.stringify(text)} is not an IPv${family} address`);
  }
  return formatIpAddress(prefix.address);
}

/** canonicalAddress over a list. */
export function canonicalAddresses(list: readonly string[], path: string, family?: IpFamily): string[] {
  return list.map((text, i) => canonicalAddress(text, `${path}[${i}]`, family));
}

/**
 * An interface address that keeps its host bits: "10.0.0.5/24" stays "10.0.0.5/24" (it names
 * the node's address and its subnet); a bare address becomes "/32" or "/128".
 */
export function canonicalInterfaceAddress(text: string, path: string, family: IpFamily): string {
  let prefix;
  try {
    prefix = parseIpPrefix(text);
  } catch (err) {
    throw syntaxError(path, text, err);
  }
  if (prefix.address.family !== family) {
    throw new ValidationError(path, `${JSON.stringify(text)} is not an IPv${family} address`);
  }
  return `${formatIpAddress(prefix.address)}/${prefix.prefixLength}`;
}

/** The model type of a Felix IP set type; unknown numbers are rejected. */
export function ipSetType(type: number, path: string): IpSetType {
  switch (type) {
    case felix.IPSetUpdate_IPSetType.IP:
      return IpSetType.IP_SET_TYPE_IP;
    case felix.IPSetUpdate_IPSetType.NET:
      return IpSetType.IP_SET_TYPE_NET;
    case felix.IPSetUpdate_IPSetType.IP_AND_PORT:
      return IpSetType.IP_SET_TYPE_IP_AND_PORT;
    default:
      throw new ValidationError(path, `unknown IP set type ${type} (expected IP 0, IP_AND_PORT 1 or NET 2)`);
  }
}

/**
 * One IP set member in canonical form: a CIDR for IP and NET sets ("10.0.0.1/32"), and
 * "<address>,<proto>:<port>" for IP_AND_PORT sets ("fd00::1,udp:53").
 */
export function canonicalIpSetMember(type: IpSetType, text: string, path: string): string {
  if (type !== IpSetType.IP_SET_TYPE_IP_AND_PORT) return canonicalNet(text, path);
  const comma = text.indexOf(",");
  const colon = text.lastIndexOf(":");
  if (comma < 0 || colon < comma) {
    throw new ValidationError(path, `${JSON.stringify(text)} is not "<ip>,<proto>:<port>"`);
  }
  const address = canonicalAddress(text.slice(0, comma), path);
  const proto = text.slice(comma + 1, colon).toLowerCase();
  if (!PORT_PROTOCOLS.has(proto)) {
    throw new ValidationError(path, `${JSON.stringify(text)}: protocol "${proto}" is not tcp, udp or sctp`);
  }
  const port = parsePortNumber(text.slice(colon + 1));
  if (port === undefined) throw new ValidationError(path, `${JSON.stringify(text)}: port is not 0..65535`);
  return `${address},${proto}:${port}`;
}

/** "8080" -> 8080; undefined unless a plain decimal in 0..65535. */
export function parsePortNumber(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

/** Felix's rule action string: case-insensitive; "" allows; next-tier and pass leave the tier. */
export function ruleAction(text: string, path: string): RuleAction {
  switch (text.toLowerCase()) {
    case "":
    case "allow":
      return RuleAction.RULE_ACTION_ALLOW;
    case "deny":
      return RuleAction.RULE_ACTION_DENY;
    case "log":
      return RuleAction.RULE_ACTION_LOG;
    case "next-tier":
    case "pass":
      return RuleAction.RULE_ACTION_PASS;
    default:
      throw new ValidationError(path, `unknown action ${JSON.stringify(text)} (expected allow, deny, log, next-tier or pass)`);
  }
}

export function ipVersion(version: number, path: string): IpVersion {
  switch (version) {
    case felix.IPVersion.ANY:
      return IpVersion.IP_VERSION_ANY;
    case felix.IPVersion.IPV4:
      return IpVersion.IP_VERSION_V4;
    case felix.IPVersion.IPV6:
      return IpVersion.IP_VERSION_V6;
    default:
      throw new ValidationError(path, `ip_version ${version} is not ANY (0), IPV4 (4) or IPV6 (6)`);
  }
}

/** A Felix Protocol (number or name) as an IP protocol number; undefined when absent. */
export function protocolNumber(protocol: felix.Protocol | undefined, path: string): number | undefined {
  if (protocol === undefined) return undefined;
  const choice = protocol.numberOrName;
  if (choice === undefined) throw new ValidationError(path, "protocol has neither a number nor a name");
  if (choice.$case === "number") return checkByte(choice.value, path, "protocol number");
  const name = choice.value.toLowerCase();
  const known = PROTOCOL_NUMBERS.get(name);
  if (known !== undefined) return known;
  if (/^[0-9]{1,3}$/.test(name)) return checkByte(Number(name), path, "protocol number");
  throw new ValidationError(path, `unknown protocol name ${JSON.stringify(choice.value)}`);
}

function checkByte(value: number, path: string, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 255) throw new ValidationError(path, `${what} ${value} is not 0..255`);
  return value;
}

export function portRanges(list: readonly felix.PortRange[], path: string): PortRange[] {
  return list.map((range, i) => {
    const where = `${path}[${i}]`;
    for (const port of [range.first, range.last]) {
      if (port < 0 || port > 65535) throw new ValidationError(where, `port ${port} is not 0..65535`);
    }
    if (range.first > range.last) throw new ValidationError(where, `first port ${range.first} is after last port ${range.last}`);
    return { first: range.first, last: range.last };
  });
}

/** icmp_type alone matches any code; icmp_type_code matches type and code. */
export function icmpMatch(
  choice: { $case: string; value: number | felix.IcmpTypeAndCode } | undefined,
  path: string,
): IcmpMatch | undefined {
  if (choice === undefined) return undefined;
  const where = `${path} ${choice.$case.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;
  if (typeof choice.value === "number") {
    return { type: checkByte(choice.value, where, "ICMP type"), hasCode: false, code: 0 };
  }
  return {
    type: checkByte(choice.value.type, where, "ICMP type"),
    hasCode: true,
    code: checkByte(choice.value.code, where, "ICMP code"),
  };
}

/** TierInfo.default_action: "Pass" (any case) passes; anything else, including "", denies. */
export function tierDefaultAction(text: string): TierDefaultAction {
  return text.toLowerCase() === "pass" ? TierDefaultAction.TIER_DEFAULT_ACTION_PASS : TierDefaultAction.TIER_DEFAULT_ACTION_DENY;
}

/** "AA-BB-cc:dd:ee:ff" -> "aa:bb:cc:dd:ee:ff"; "" stays "" (no MAC known). */
export function canonicalMac(text: string, path: string): string {
  if (text === "") return "";
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(text)) {
    throw new ValidationError(path, `${JSON.stringify(text)} is not a MAC address`);
  }
  return text.toLowerCase().replace(/-/g, ":");
}

/** A Linux interface name: at most 15 bytes, no "/", ":", whitespace or NUL. */
export function interfaceName(text: string, path: string, options: { allowWildcard: boolean; allowEmpty: boolean }): string {
  if (text === "" && options.allowEmpty) return text;
  if (text === "*" && options.allowWildcard) return text;
  // The kernel's dev_valid_name() rules, plus "*" which Calico reserves for "all interfaces".
  if (text === "" || text === "*" || text === "." || text === ".." || Buffer.byteLength(text) > 15 || /[\s/:\0]/.test(text)) {
    throw new ValidationError(path, `${JSON.stringify(text)} is not a valid interface name`);
  }
  return text;
}

/** Throws unless the text is non-empty (an identifier Felix always fills). */
export function required(text: string, path: string): string {
  if (text === "") throw new ValidationError(path, "is empty");
  return text;
}
