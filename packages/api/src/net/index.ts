export {
  AddressSyntaxError,
  canonicalIpv4Net,
  formatIpAddress,
  formatIpv6,
  formatIpv6Groups,
  maskAddress,
  maskBytes,
  parseIpAddress,
  parseIpPrefix,
  tryParseIpAddress,
  tryParseIpv4,
  tryParseIpv6,
} from "./ip-address";
export type { FormatIpv6Options, IpAddress, IpFamily, IpPrefix } from "./ip-address";
