/**
 * IP addresses and CIDRs in the exact string forms Felix puts on the wire: Go's `net.IP.String`
 * (RFC 5952 for IPv6: lower case, longest zero run compressed) and `net.IPNet.String` with host
 * bits cleared. IP set members and rule nets are compared as strings by drivers, so the form
 * matters, not just the value. A thin adapter over @ptables/api's shared IP parser.
 */
import { formatIpv6, maskBytes, tryParseIpAddress, type IpFamily } from "@ptables/api";

export type { IpFamily } from "@ptables/api";

/** An address as bytes (4 or 16). */
export interface IpAddress {
  readonly family: IpFamily;
  readonly bytes: Uint8Array;
}

/** A network: address (host bits cleared by `parseCidr`) plus prefix length. */
export interface IpNetwork extends IpAddress {
  readonly prefixLength: number;
}

/** Parses a literal IPv4 or IPv6 address (no zone, no prefix); undefined if it is not one. */
export function parseIp(text: string): IpAddress | undefined {
  return tryParseIpAddress(text);
}

/** Formats an address the way Go's net.IP.String does. */
export function formatIp(ip: IpAddress): string {
  return ip.family === 4 ? Array.from(ip.bytes).join(".") : formatIpv6(ip.bytes);
}

/**
 * Parses "addr/len" or a bare address (taken as a host route, /32 or /128) and clears the host
 * bits, as libcalico-go's ParseCIDROrIP + Network() do. Undefined if the text is not a CIDR.
 */
export function parseCidr(text: string): IpNetwork | undefined {
  const slash = text.indexOf("/");
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return undefined;
  const maxLength = ip.family === 4 ? 32 : 128;
  let prefixLength = maxLength;
  if (slash >= 0) {
    const lengthText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lengthText)) return undefined;
    prefixLength = Number(lengthText);
    if (prefixLength > maxLength) return undefined;
  }
  return { family: ip.family, bytes: maskBytes(Uint8Array.from(ip.bytes), prefixLength), prefixLength };
}

/** "10.0.0.0/24", "fd00::/64": Go's net.IPNet.String. */
export function formatCidr(net: IpNetwork): string {
  return `${formatIp(net)}/${net.prefixLength}`;
}

/** The host route for an address: "10.65.0.2/32", "fd00:65::2/128". */
export function hostCidr(ip: IpAddress): string {
  return `${formatIp(ip)}/${ip.family === 4 ? 32 : 128}`;
}
