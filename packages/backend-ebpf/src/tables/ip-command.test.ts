import { parseBatchErrors } from "./ip-command";
import { canonicalCidr } from "./routes-table";
import { portRangePrefixes } from "../testing/test-run-harness";

describe("ip -batch error output", () => {
  test("maps each failure to its command (0-based)", () => {
    const stderr = "Error: Nexthop has invalid gateway.\nCommand failed -:2\nRTNETLINK answers: No such process\nCommand failed -:9\n";
    expect([...parseBatchErrors(stderr)]).toEqual([
      [1, "Error: Nexthop has invalid gateway."],
      [8, "RTNETLINK answers: No such process"],
    ]);
    expect(parseBatchErrors("").size).toBe(0);
  });
});

describe("route destinations", () => {
  test.each([
    ["10.65.0.2", "10.65.0.2/32"],
    ["10.65.3.7/16", "10.65.0.0/16"],
    ["FD00::1/64", "fd00::/64"],
    ["::/0", "::/0"],
  ])("%s -> %s", (text, cidr) => expect(canonicalCidr(text)?.cidr).toBe(cidr));

  test.each(["10.0.0.0/33", "nope", "10.0.0.0/8/1", "10.0.0.0/x"])("rejects %s", (text) => expect(canonicalCidr(text)).toBeUndefined());
});

describe("port ranges as prefixes", () => {
  test.each([
    [80, 80, [[80, 16]]],
    [0, 65535, [[0, 0]]],
    [8000, 8100, [[8000, 10], [8064, 11], [8096, 14], [8100, 16]]],
  ] as const)("%d-%d", (first, last, expected) => {
    expect(portRangePrefixes(first, last).map((p) => [p.port, p.prefixLen])).toEqual(expected);
  });
});
