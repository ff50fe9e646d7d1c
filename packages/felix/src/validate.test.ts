import { IpSetType, RuleAction, TierDefaultAction, ValidationError } from "@ptables/api";
import {
  canonicalAddress,
  canonicalInterfaceAddress,
  canonicalIpSetMember,
  canonicalMac,
  canonicalNet,
  icmpMatch,
  interfaceName,
  ipSetType,
  ipVersion,
  portRanges,
  protocolNumber,
  ruleAction,
  tierDefaultAction,
} from "./validate";

const PATH = "policy GlobalNetworkPolicy//p1 inbound rule 2 src_net[0]";

describe("CIDRs", () => {
  test.each([
    ["10.0.0.5/24", "10.0.0.0/24"],
    ["10.0.0.5", "10.0.0.5/32"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["10.1.2.3/0", "0.0.0.0/0"],
    ["FD00::1", "fd00::1/128"],
    ["fd00::1:2/64", "fd00::/64"],
    ["::/0", "::/0"],
  ])("canonicalNet(%j) = %j", (input, expected) => {
    expect(canonicalNet(input, PATH)).toBe(expected);
  });

  test("a bad CIDR names its path and the text", () => {
    let caught: unknown;
    try {
      canonicalNet("10.0.0.300/33", PATH);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).path).toBe(PATH);
    expect((caught as ValidationError).message).toBe(`${PATH}: "10.0.0.300/33": octet 300 is out of range`);
  });

  test("family is enforced when asked", () => {
    expect(() => canonicalNet("fd00::/64", "ipv4_nets[0]", 4)).toThrow('ipv4_nets[0]: "fd00::/64" is not an IPv4 CIDR');
    expect(canonicalNet("10.0.0.1/32", "ipv4_nets[0]", 4)).toBe("10.0.0.1/32");
  });

  test("addresses: bare or full-length prefix, never a network", () => {
    expect(canonicalAddress("10.0.0.1/32", "a")).toBe("10.0.0.1");
    expect(canonicalAddress("FD00::0001", "a", 6)).toBe("fd00::1");
    expect(() => canonicalAddress("10.0.0.0/24", "a")).toThrow("is a network");
    expect(() => canonicalAddress("10.0.0.1", "a", 6)).toThrow("is not an IPv6 address");
  });

  test("interface addresses keep their host bits", () => {
    expect(canonicalInterfaceAddress("10.0.0.5/24", "a", 4)).toBe("10.0.0.5/24");
    expect(canonicalInterfaceAddress("10.0.0.5", "a", 4)).toBe("10.0.0.5/32");
    expect(canonicalInterfaceAddress("FD00::5/64", "a", 6)).toBe("fd00::5/64");
  });
});

describe("IP set members", () => {
  test("types: IP, NET, IP_AND_PORT; an unknown number is refused", () => {
    expect(ipSetType(0, "t")).toBe(IpSetType.IP_SET_TYPE_IP);
    expect(ipSetType(1, "t")).toBe(IpSetType.IP_SET_TYPE_IP_AND_PORT);
    expect(ipSetType(2, "t")).toBe(IpSetType.IP_SET_TYPE_NET);
    expect(() => ipSetType(7, "IP set s:x type")).toThrow("IP set s:x type: unknown IP set type 7");
  });

  test.each([
    [IpSetType.IP_SET_TYPE_NET, "10.0.0.1/32", "10.0.0.1/32"],
    [IpSetType.IP_SET_TYPE_NET, "12.0.0.7/24", "12.0.0.0/24"],
    [IpSetType.IP_SET_TYPE_IP, "fc00:fe11::1", "fc00:fe11::1/128"],
    [IpSetType.IP_SET_TYPE_IP_AND_PORT, "10.0.0.1,tcp:8080", "10.0.0.1,tcp:8080"],
    [IpSetType.IP_SET_TYPE_IP_AND_PORT, "FD00::1,UDP:053", "fd00::1,udp:53"],
    [IpSetType.IP_SET_TYPE_IP_AND_PORT, "10.0.0.1/32,sctp:0", "10.0.0.1,sctp:0"],
  ])("type %s member %j -> %j", (type, input, expected) => {
    expect(canonicalIpSetMember(type, input, "m")).toBe(expected);
  });

  test.each([
    [IpSetType.IP_SET_TYPE_NET, "10.0.0.300/33", /octet 300/],
    [IpSetType.IP_SET_TYPE_IP_AND_PORT, "10.0.0.1", /not "<ip>,<proto>:<port>"/],
    [IpSetType.IP_SET_TYPE_IP_AND_PORT, "10.0.0.1,icmp:8", /protocol "icmp" is not tcp, udp or sctp/],
    [IpSetType.IP_SET_TYPE_IP_AND_PORT, "10.0.0.1,tcp:65536", /port is not 0..65535/],
    [IpSetType.IP_SET_TYPE_IP_AND_PORT, "10.0.0.0/24,tcp:80", /is a network/],
  ])("type %s member %j is refused", (type, input, error) => {
    expect(() => canonicalIpSetMember(type, input, "IP set s:x members[0]")).toThrow(error);
  });
});

describe("rule fields", () => {
  test.each([
    ["allow", RuleAction.RULE_ACTION_ALLOW],
    ["", RuleAction.RULE_ACTION_ALLOW],
    ["Deny", RuleAction.RULE_ACTION_DENY],
    ["log", RuleAction.RULE_ACTION_LOG],
    ["next-tier", RuleAction.RULE_ACTION_PASS],
    ["PASS", RuleAction.RULE_ACTION_PASS],
  ])("action %j", (text, action) => {
    expect(ruleAction(text, "a")).toBe(action);
  });

  test("an unknown action is refused", () => {
    expect(() => ruleAction("reject", "inbound rule 0 action")).toThrow('inbound rule 0 action: unknown action "reject"');
  });

  test("protocols by name (any case) or number", () => {
    const byName = (value: string) => protocolNumber({ numberOrName: { $case: "name", value } }, "p");
    const byNumber = (value: number) => protocolNumber({ numberOrName: { $case: "number", value } }, "p");
    expect([byName("tcp"), byName("UDP"), byName("icmp"), byName("ICMPv6"), byName("sctp"), byName("udplite")]).toEqual([
      6, 17, 1, 58, 132, 136,
    ]);
    expect(byNumber(0)).toBe(0);
    expect(byNumber(255)).toBe(255);
    expect(protocolNumber(undefined, "p")).toBeUndefined();
    expect(() => byNumber(256)).toThrow("protocol number 256 is not 0..255");
    expect(() => byNumber(-1)).toThrow("is not 0..255");
    expect(() => byName("gre")).toThrow('unknown protocol name "gre"');
    expect(() => protocolNumber({ numberOrName: undefined }, "p")).toThrow("neither a number nor a name");
  });

  test("port ranges", () => {
    expect(portRanges([{ first: 0, last: 65535 }, { first: 80, last: 80 }], "p")).toEqual([
      { first: 0, last: 65535 },
      { first: 80, last: 80 },
    ]);
    expect(() => portRanges([{ first: 90, last: 80 }], "dst_ports")).toThrow("dst_ports[0]: first port 90 is after last port 80");
    expect(() => portRanges([{ first: 1, last: 70000 }], "dst_ports")).toThrow("port 70000 is not 0..65535");
    expect(() => portRanges([{ first: -5, last: 1 }], "dst_ports")).toThrow("port -5 is not 0..65535");
  });

  test("ICMP type alone or type and code", () => {
    expect(icmpMatch({ $case: "icmpType", value: 8 }, "r")).toEqual({ type: 8, hasCode: false, code: 0 });
    expect(icmpMatch({ $case: "icmpTypeCode", value: { type: 3, code: 4 } }, "r")).toEqual({ type: 3, hasCode: true, code: 4 });
    expect(icmpMatch(undefined, "r")).toBeUndefined();
    expect(() => icmpMatch({ $case: "notIcmpTypeCode", value: { type: 3, code: 256 } }, "rule 1")).toThrow(
      "rule 1 not_icmp_type_code: ICMP code 256 is not 0..255",
    );
  });

  test("ip_version keeps what Felix sent; others are refused", () => {
    expect([ipVersion(0, "v"), ipVersion(4, "v"), ipVersion(6, "v")]).toEqual([0, 4, 6]);
    expect(() => ipVersion(5, "ip_version")).toThrow("ip_version: ip_version 5 is not ANY");
  });
});

describe("endpoint fields", () => {
  test("tier default action: Pass passes, anything else denies", () => {
    expect(tierDefaultAction("Pass")).toBe(TierDefaultAction.TIER_DEFAULT_ACTION_PASS);
    expect(tierDefaultAction("Deny")).toBe(TierDefaultAction.TIER_DEFAULT_ACTION_DENY);
    expect(tierDefaultAction("")).toBe(TierDefaultAction.TIER_DEFAULT_ACTION_DENY);
  });

  test("MACs are lower-case with colons", () => {
    expect(canonicalMac("AA-BB-CC-00-11-22", "m")).toBe("aa:bb:cc:00:11:22");
    expect(canonicalMac("", "m")).toBe("");
    expect(() => canonicalMac("aa:bb:cc", "mac")).toThrow('mac: "aa:bb:cc" is not a MAC address');
  });

  test("interface names", () => {
    const hep = { allowWildcard: true, allowEmpty: true };
    const wep = { allowWildcard: false, allowEmpty: false };
    expect(interfaceName("*", "n", hep)).toBe("*");
    expect(interfaceName("", "n", hep)).toBe("");
    expect(interfaceName("cali1234567890a", "n", wep)).toBe("cali1234567890a");
    expect(() => interfaceName("", "name", wep)).toThrow("not a valid interface name");
    expect(() => interfaceName("*", "name", wep)).toThrow("not a valid interface name");
    expect(() => interfaceName("cali1234567890ab", "name", wep)).toThrow("not a valid interface name");
    expect(() => interfaceName("eth/0", "name", hep)).toThrow("not a valid interface name");
  });
});
