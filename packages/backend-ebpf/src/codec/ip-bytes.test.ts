import { formatIpBytes, maskIpBytes, parseAnyIp, parseIpBytes } from "./ip-bytes";

describe("ip bytes", () => {
  test.each([
    ["10.1.2.3", 4, "10.1.2.3"],
    ["0.0.0.0", 4, "0.0.0.0"],
    ["::", 6, "::"],
    ["fd00::1", 6, "fd00::1"],
    ["FD00:0:0:0:0:0:0:1", 6, "fd00::1"],
    ["2001:db8:0:0:1:0:0:1", 6, "2001:db8::1:0:0:1"],
    ["2001:db8:0:1:1:1:1:1", 6, "2001:db8:0:1:1:1:1:1"],
    ["::ffff:1.2.3.4", 6, "::ffff:102:304"],
    ["fe80::ecee:eeff:feee:eeee", 6, "fe80::ecee:eeff:feee:eeee"],
  ] as const)("%s round-trips to %s", (text, family, canonical) => {
    const bytes = parseIpBytes(text, family)!;
    expect(bytes).toHaveLength(16);
    expect(formatIpBytes(bytes, family)).toBe(canonical);
  });

  test("IPv4 sits in the first four bytes", () => {
    expect(parseIpBytes("10.65.0.2", 4)!.toString("hex")).toBe("0a410002" + "00".repeat(12));
  });

  test.each([["10.0.0.256", 4], ["fd00::1", 4], ["10.0.0.1", 6], ["fe80::1%eth0", 6], ["", 6]] as const)("rejects %s as IPv%s", (text, family) => {
    expect(parseIpBytes(text, family)).toBeUndefined();
  });

  test("masking clears host bits", () => {
    expect(formatIpBytes(maskIpBytes(parseIpBytes("10.65.3.7", 4)!, 16), 4)).toBe("10.65.0.0");
    expect(formatIpBytes(maskIpBytes(parseIpBytes("fd00:1:2:3::9", 6)!, 36), 6)).toBe("fd00:1::");
    expect(formatIpBytes(maskIpBytes(parseIpBytes("10.65.3.7", 4)!, 0), 4)).toBe("0.0.0.0");
  });

  test("parseAnyIp detects the family", () => {
    expect(parseAnyIp("1.2.3.4")?.family).toBe(4);
    expect(parseAnyIp("::1")?.family).toBe(6);
    expect(parseAnyIp("nope")).toBeUndefined();
  });
});
