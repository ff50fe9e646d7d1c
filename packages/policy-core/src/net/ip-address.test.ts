import { cidrContains, formatCidr, formatIp, parseCidr, parseIp } from "../index";

describe("IP addresses", () => {
  test.each([
    ["10.0.0.1", "10.0.0.1"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
    ["::", "::"],
    ["::1", "::1"],
    ["FD00:0:0:0:0:0:0:1", "fd00::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"],
    ["::ffff:1.2.3.4", "::ffff:102:304"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
  ])("%s is canonically %s", (text, canonical) => {
    const a = parseIp(text)!;
    expect(formatIp(a.family, a.value)).toBe(canonical);
  });

  test.each(["", "10.0.0", "10.0.0.256", "10.0.0.01", "1.2.3.4.5", "a.b.c.d", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "fe80::1%eth0", "::1.2.3", "1.2.3.4::", " 10.0.0.1"])(
    "%j is refused",
    (text) => expect(parseIp(text)).toBeUndefined(),
  );
});

describe("CIDRs", () => {
  test("host bits are cleared and a bare address is a full-length prefix", () => {
    expect(formatCidr(parseCidr("10.0.0.5/24")!)).toBe("10.0.0.0/24");
    expect(formatCidr(parseCidr("fd00::1/8")!)).toBe("fd00::/8");
    expect(formatCidr(parseCidr("10.0.0.5")!)).toBe("10.0.0.5/32");
    expect(formatCidr(parseCidr("::/0")!)).toBe("::/0");
  });

  test.each(["10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/08", "/8", "10.0.0.0/8/8"])("%j is refused", (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });

  test("containment respects family and prefix", () => {
    const net = parseCidr("10.1.0.0/16")!;
    expect(cidrContains(net, 4, parseIp("10.1.255.255")!.value)).toBe(true);
    expect(cidrContains(net, 4, parseIp("10.2.0.0")!.value)).toBe(false);
    expect(cidrContains(parseCidr("::/0")!, 4, 0n)).toBe(false);
  });
});
