import { formatCidr, formatIp, hostCidr, parseCidr, parseIp } from "./ip";

describe("IP formatting matches Go's net package", () => {
  test.each([
    ["10.65.0.2", "10.65.0.2"],
    ["FD00:65:0:0:0:0:0:2", "fd00:65::2"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["::ffff:10.0.0.1", "::ffff:a00:1"],
  ])("%s -> %s", (input, output) => {
    expect(formatIp(parseIp(input)!)).toBe(output);
  });

  test.each(["10.0.0.300", "10.0.0", "fd00::1%eth0", "1.2.3.4/32", "", "zz::1"])("%j is not an address", (text) => {
    expect(parseIp(text)).toBeUndefined();
  });

  test("CIDRs have their host bits cleared; bare addresses become host routes", () => {
    expect(formatCidr(parseCidr("10.1.2.3/8")!)).toBe("10.0.0.0/8");
    expect(formatCidr(parseCidr("10.1.2.3")!)).toBe("10.1.2.3/32");
    expect(formatCidr(parseCidr("fd00:1:ffff:3::5/33")!)).toBe("fd00:1:8000::/33");
    expect(formatCidr(parseCidr("0.0.0.0/0")!)).toBe("0.0.0.0/0");
    expect(hostCidr(parseIp("fd00::1")!)).toBe("fd00::1/128");
    expect(parseCidr("10.0.0.0/33")).toBeUndefined();
    expect(parseCidr("10.0.0.0/x")).toBeUndefined();
  });
});
