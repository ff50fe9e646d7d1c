import { UsageError } from "../command";
import { formatPacket, parsePacket } from "./packet";

function errorOf(text: string): string {
  try {
    parsePacket(text);
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error(`'${text}' parsed`);
}

describe("trace packet syntax", () => {
  test("TCP and UDP with ports, IPv4 and bracketed IPv6", () => {
    expect(parsePacket("tcp 10.65.0.2:1234 -> 10.65.0.3:8080")).toEqual({ family: 4, protocol: 6, srcIp: "10.65.0.2", dstIp: "10.65.0.3", srcPort: 1234, dstPort: 8080, icmpType: 0, icmpCode: 0 });
    expect(parsePacket("udp [fd00::2]:53 -> [fd00::3]:53")).toEqual({ family: 6, protocol: 17, srcIp: "fd00::2", dstIp: "fd00::3", srcPort: 53, dstPort: 53, icmpType: 0, icmpCode: 0 });
    expect(parsePacket("  SCTP   10.0.0.1:1  ->  10.0.0.2:2 ").protocol).toBe(132);
  });

  test("ICMP with type and code; echo request when not given; icmp between IPv6 addresses is ICMPv6", () => {
    expect(parsePacket("icmp 10.65.0.2 -> 10.65.0.3 type 8 code 0")).toMatchObject({ family: 4, protocol: 1, icmpType: 8, icmpCode: 0, srcPort: 0, dstPort: 0 });
    expect(parsePacket("icmp 10.65.0.2 -> 10.65.0.3 type 3 code 4")).toMatchObject({ icmpType: 3, icmpCode: 4 });
    expect(parsePacket("icmp 10.65.0.2 -> 10.65.0.3")).toMatchObject({ icmpType: 8, icmpCode: 0 });
    expect(parsePacket("icmp fd00::2 -> [fd00::3]")).toMatchObject({ family: 6, protocol: 58, icmpType: 128 });
    expect(parsePacket("icmpv6 fd00::2 -> fd00::3 type 135")).toMatchObject({ protocol: 58, icmpType: 135 });
  });

  test("any other protocol by number, without ports", () => {
    expect(parsePacket("47 10.0.0.1 -> 10.0.0.2")).toMatchObject({ protocol: 47, srcPort: 0, dstPort: 0 });
  });

  test.each([
    ["tcp 10.0.0.300:80 -> 10.0.0.1:80", "packet: '10.0.0.300' is not an IP address"],
    ["tcp 10.0.0.1 -> 10.0.0.2:80", "packet: '10.0.0.1' needs a port for tcp (address:port)"],
    ["tcp 10.0.0.1:70000 -> 10.0.0.2:80", "packet: port '70000' is not a number 0..65535"],
    ["udp fd00::2:53 -> [fd00::3]:53", "packet: 'fd00::2:53': write an IPv6 address with its port as [address]:port, e.g. [fd00::1]:53"],
    ["udp [10.0.0.1]:53 -> [fd00::3]:53", "packet: '10.0.0.1' is not an IPv6 address"],
    ["tcp 10.0.0.1:1 -> [fd00::3]:53", "packet: the source is IPv4 but the destination is IPv6"],
    ["icmp 10.0.0.1:1 -> 10.0.0.2", "packet: '10.0.0.1:1': icmp has no ports"],
    ["icmp 10.0.0.1 -> 10.0.0.2 type 300", "packet: ICMP type '300' is not a number 0..255"],
    ["icmp 10.0.0.1 -> 10.0.0.2 type", "packet: ICMP type '' is not a number 0..255"],
    ["icmp 10.0.0.1 -> 10.0.0.2 kind 3", "packet: unexpected 'kind' (after the addresses an ICMP packet takes 'type <n>' and 'code <n>')"],
    ["icmpv6 10.0.0.1 -> 10.0.0.2", "packet: icmpv6 needs IPv6 addresses (use icmp for IPv4)"],
    ["tcp 10.0.0.1:1 -> 10.0.0.2:2 extra", "packet: unexpected 'extra' after the destination"],
    ["gre 10.0.0.1 -> 10.0.0.2", "packet: 'gre' is not a protocol (tcp, udp, sctp, icmp, icmpv6 or a number 0..255)"],
    ["256 10.0.0.1 -> 10.0.0.2", "packet: '256' is not a protocol (tcp, udp, sctp, icmp, icmpv6 or a number 0..255)"],
  ])("%s is refused: %s", (text, message) => {
    expect(errorOf(text)).toBe(message);
  });

  test("a packet without the arrow or with pieces missing says what the syntax is", () => {
    expect(errorOf("tcp 10.0.0.1:1 10.0.0.2:2")).toMatch(/^packet: 'tcp 10\.0\.0\.1:1 10\.0\.0\.2:2' is not a packet \(expected '<tcp\|udp\|sctp> <ip>:<port> -> <ip>:<port>'/);
    expect(errorOf("")).toMatch(/^packet: no packet given \(expected /);
  });

  test("formatPacket writes the canonical form back", () => {
    for (const text of ["tcp 10.65.0.2:1234 -> 10.65.0.3:8080", "udp [fd00::2]:53 -> [fd00::3]:53", "icmp 10.65.0.2 -> 10.65.0.3 type 8 code 0", "47 10.0.0.1 -> 10.0.0.2"]) {
      expect(formatPacket(parsePacket(text))).toBe(text);
    }
  });
});
