import { AddressSyntaxError, canonicalIpv4Net, formatIpAddress, maskAddress, parseIpAddress, parseIpPrefix } from "./ip-address";

const roundTrip = (text: string): string => formatIpAddress(parseIpAddress(text));

describe("parseIpAddress / formatIpAddress", () => {
  test.each([
    ["10.0.0.1", "10.0.0.1"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
    ["::", "::"],
    ["::1", "::1"],
    ["FD00:0:0:0:0:0:0:1", "fd00::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // first of two equal runs is compressed
    ["2001:db8::", "2001:db8::"],
    ["2001:0db8:0000:0001:0000:0000:0000:0000", "2001:db8:0:1::"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"], // a single zero group is not compressed
    ["::ffff:10.0.0.1", "::ffff:10.0.0.1"],
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
  ])("%s -> %s", (input, canonical) => {
    expect(roundTrip(input)).toBe(canonical);
  });

  test.each([
    "",
    "10.0.0",
    "10.0.0.1.2",
    "10.0.0.300",
    "010.0.0.1",
    "10.0.0.-1",
    "10.0.0.1 ",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "1::2::3",
    "12345::",
    "fe80::1%eth0",
    ":1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8::",
    "::10.0.0.1:1",
    "g::1",
  ])("%j is rejected", (input) => {
    expect(() => parseIpAddress(input)).toThrow(AddressSyntaxError);
  });
});

describe("parseIpPrefix / maskAddress", () => {
  test("a bare address gets the full prefix length", () => {
    expect(parseIpPrefix("10.0.0.1")).toMatchObject({ prefixLength: 32, hadPrefix: false });
    expect(parseIpPrefix("fd00::1")).toMatchObject({ prefixLength: 128, hadPrefix: false });
  });

  test("masking clears host bits at every boundary", () => {
    const address = parseIpAddress("255.255.255.255");
    for (let length = 0; length <= 32; length++) {
      const masked = maskAddress(address, length).bytes;
      const value = ((masked[0] << 24) | (masked[1] << 16) | (masked[2] << 8) | masked[3]) >>> 0;
      const expected = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
      expect(value).toBe(expected);
    }
    expect(formatIpAddress(maskAddress(parseIpAddress("fd00:1234:5678::1"), 20))).toBe("fd00:1000::");
  });

  test.each(["10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/08", "fd00::/129", "10.0.0.0/24/1", "/24"])(
    "%j is rejected",
    (input) => {
      expect(() => parseIpPrefix(input)).toThrow(AddressSyntaxError);
    },
  );
});

describe("canonicalIpv4Net (the fast path)", () => {
  /** The general path: parse, mask, format. */
  const slow = (text: string): string | undefined => {
    try {
      const prefix = parseIpPrefix(text);
      if (prefix.address.family !== 4) return undefined;
      return `${formatIpAddress(maskAddress(prefix.address, prefix.prefixLength))}/${prefix.prefixLength}`;
    } catch (err) {
      if (err instanceof AddressSyntaxError) return undefined;
      throw err;
    }
  };

  test("agrees with the general parser on 20,000 well-formed and malformed inputs", () => {
    let seed = 12345;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const part = (): string => ["0", "7", "10", "99", "100", "199", "249", "250", "255", "256", "300", "01", "", "x"][next(14)];
    for (let i = 0; i < 20_000; i++) {
      const address = `${next(256)}.${part()}.${next(256)}.${part()}`;
      const suffix = ["", "/0", "/1", "/8", "/23", "/31", "/32", "/33", "/08", "/"][next(10)];
      const text = address + suffix;
      const fast = canonicalIpv4Net(text);
      if (fast !== undefined) expect([text, fast]).toEqual([text, slow(text)]);
      else if (slow(text) !== undefined) throw new Error(`fast path refused valid ${text}`);
    }
  });

  test("covers the common forms", () => {
    expect(canonicalIpv4Net("10.0.0.1/32")).toBe("10.0.0.1/32");
    expect(canonicalIpv4Net("10.0.0.1")).toBe("10.0.0.1/32");
    expect(canonicalIpv4Net("10.1.2.3/0")).toBe("0.0.0.0/0");
    expect(canonicalIpv4Net("255.255.255.255/1")).toBe("128.0.0.0/1");
    expect(canonicalIpv4Net("fd00::1")).toBeUndefined();
  });
});
