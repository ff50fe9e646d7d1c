/** The host interface plan (pure): which interfaces are host interfaces and who governs each. */
import type { HostInterface } from "@ptables/api";
import { testing } from "@ptables/policy-core";
import { hostAddressCidrs, planHostInterfaces } from "./host-interface-plan";

const { hostEndpoint } = testing;

const IFACES: HostInterface[] = [
  { ifname: "lo", ethernet: false, up: true, addrs: ["127.0.0.1/8", "::1/128"] },
  { ifname: "eth0", ethernet: true, up: true, addrs: ["10.0.0.5/24", "fd00::5/64"] },
  { ifname: "eth1", ethernet: true, up: false, addrs: ["192.168.1.5/24"] },
  { ifname: "cali123", ethernet: true, up: true, addrs: [] },
  { ifname: "tap9", ethernet: true, up: true, addrs: [] },
  { ifname: "weird0", ethernet: true, up: true, addrs: [] },
];

function plan(heps: ReturnType<typeof hostEndpoint>[], watchAll = false, workloadIfnames: string[] = ["weird0"]) {
  const p = planHostInterfaces({ heps, interfaces: IFACES, interfacePrefix: "cali,tap", workloadIfnames: new Set(workloadIfnames), watchAll });
  return { ifaces: Object.fromEntries([...p.interfaces.values()].map((i) => [i.ifname, i.hep ?? "(watch)"])), heps: Object.fromEntries(p.heps), star: p.star };
}

test('"*" takes every host interface (not lo, not workload prefixes, not workload-owned names)', () => {
  const r = plan([hostEndpoint({ key: "b-star", ifname: "*" }), hostEndpoint({ key: "a-star", ifname: "*" })]);
  expect(r.ifaces).toEqual({ eth0: "a-star", eth1: "a-star" });
  expect(r.star).toBe("a-star");
  expect(r.heps["b-star"]).toEqual({ ifnames: [] });
});

test("named and by-address host endpoints win over *; among several, the smallest key", () => {
  const r = plan([
    hostEndpoint({ key: "z-star", ifname: "*" }),
    hostEndpoint({ key: "m-eth1", ifname: "eth1" }),
    hostEndpoint({ key: "c-by-ip", ifname: "", expectedIpv6Addrs: ["fd00:0:0:0::5"] }),
    hostEndpoint({ key: "d-by-ip", ifname: "", expectedIpv4Addrs: ["10.0.0.5"] }),
  ]);
  expect(r.ifaces).toEqual({ eth0: "c-by-ip", eth1: "m-eth1" });
  expect(r.heps["d-by-ip"]).toEqual({ ifnames: [] });
});

test("watch-only entries for interfaces nobody governs; problems for loopback and workload interfaces", () => {
  const r = plan([hostEndpoint({ key: "on-lo", ifname: "lo" }), hostEndpoint({ key: "on-cali", ifname: "cali123" }), hostEndpoint({ key: "eth0", ifname: "eth0" })], true);
  expect(r.ifaces).toEqual({ eth0: "eth0", eth1: "(watch)" });
  expect(r.heps["on-lo"]!.problem).toMatch(/loopback/);
  expect(r.heps["on-cali"]!.problem).toMatch(/workload interface/);
});

test("host addresses: every address as a host address, the loopback's prefixes whole", () => {
  expect(hostAddressCidrs(IFACES)).toEqual(["10.0.0.5/32", "127.0.0.0/8", "192.168.1.5/32", "::1/128", "fd00::5/128"]);
});
