/**
 * The RouteManager inside the programmer: routes only after the endpoint entry, removed before
 * it; a restart writes nothing; stale entries wait for InSync; failures are retried with backoff
 * and reported per object; the periodic readback repairs what someone removed; a recreated
 * device gets its routes back; a broken host network never stops policy programming.
 */
import { sync } from "@ptables/proto";
import { defaultDataplaneConfig, emptyDesiredState, type DesiredState, type Route, type WorkloadEndpoint } from "@ptables/api";
import { testing } from "@ptables/policy-core";
import { ReferenceDpuBackend } from "@ptables/backend-ref";
import { PoolType, RouteType } from "./host-plan";
import { Programmer } from "./programmer";
import { deltaOf, snapshotOf, statusOf, TestClock, WEP } from "./testing/fixtures";
import { HostNetworkBackend } from "./testing/host-network-backend";

const ROUTE = sync.ObjectKind.OBJECT_KIND_ROUTE;
const VTEP = sync.ObjectKind.OBJECT_KIND_VTEP;
const POOL = sync.ObjectKind.OBJECT_KIND_IPAM_POOL;

function pod(n: number, extra: Partial<WorkloadEndpoint> = {}): WorkloadEndpoint {
  return testing.workload({
    key: `k8s/default/pod${n}/eth0`,
    workloadId: `default/pod${n}`,
    ifname: `cali${n}`,
    mac: `0a:58:0a:41:00:0${n}`,
    ipv4Nets: [`10.65.0.${n}/32`],
    ipv6Nets: [`fd00:65::${n}/128`],
    ...extra,
  });
}

function remoteBlock(): Route {
  return {
    dst: "10.65.1.0/26",
    types: RouteType.REMOTE_WORKLOAD,
    ipPoolType: PoolType.VXLAN,
    dstNodeName: "node-b",
    dstNodeIp: "10.254.0.2",
    sameSubnet: false,
    natOutgoing: true,
    localWorkload: false,
    tunnelIpip: false,
    tunnelVxlan: false,
    tunnelWireguard: false,
    borrowed: false,
  };
}

const CLUSTER: Partial<DesiredState> = {
  config: { ...defaultDataplaneConfig(), hostname: "node-a" },
  hosts: [
    { hostname: "node-a", ipv4Addr: "10.254.0.1/24", ipv6Addr: "", asnumber: "", labels: {} },
    { hostname: "node-b", ipv4Addr: "10.254.0.2/24", ipv6Addr: "", asnumber: "", labels: {} },
  ],
  vteps: [
    { node: "node-a", mac: "66:00:00:00:00:0a", ipv4Addr: "10.65.0.0", parentDeviceIp: "10.254.0.1", macV6: "", ipv6Addr: "", parentDeviceIpv6: "" },
    { node: "node-b", mac: "66:00:00:00:00:0b", ipv4Addr: "10.65.1.0", parentDeviceIp: "10.254.0.2", macV6: "", ipv6Addr: "", parentDeviceIpv6: "" },
  ],
  ipamPools: [{ id: "10.65.0.0-16", cidr: "10.65.0.0/16", masquerade: true, ipipMode: "Never", vxlanMode: "Always", allowedUses: ["Workload"] }],
  encapsulation: { ipipEnabled: false, vxlanEnabled: true, vxlanEnabledV6: false, noEncapEnabled: false },
  routes: [remoteBlock()],
};

function newBackend(...ifnames: string[]): HostNetworkBackend {
  const b = new HostNetworkBackend();
  for (const i of ifnames) b.addInterface(i);
  return b;
}

async function programmedWith(backend: HostNetworkBackend, state: Partial<DesiredState>, opts: ConstructorParameters<typeof Programmer>[1] = {}): Promise<Programmer> {
  const p = new Programmer(backend, opts);
  p.applySnapshot(snapshotOf({ ...CLUSTER, ...state }, 1n));
  await p.apply();
  return p;
}

const indexOf = (b: HostNetworkBackend, table: string, op: string, key: string) => b.hostLog.findIndex((w) => w.table === table && w.op === op && w.key === key);

describe("order against the endpoint entries", () => {
  test("a new workload: endpoint entry, then sysctls, its neighbour and routes; a removed one: routes and neighbour, then the entry", async () => {
    const b = newBackend("cali1");
    const p = await programmedWith(b, { workloadEndpoints: [pod(1)] });
    const entry = indexOf(b, "endpoints", "upsert", "cali1");
    expect(entry).toBeGreaterThanOrEqual(0);
    for (const [table, key] of [
      ["sysctls", "net/ipv4/conf/cali1/forwarding"],
      ["neighbours", "cali1/10.65.0.1"],
      ["routes", "10.65.0.1/32"],
      ["routes", "fd00:65::1/128"],
    ]) {
      expect({ table, key, after: indexOf(b, table!, "upsert", key!) > entry }).toEqual({ table, key, after: true });
    }
    expect(b.tables.routes.entries.get("10.65.0.1/32")![1]).toEqual({ ifname: "cali1", via: "", kind: "unicast", onlink: false });

    b.clearHostLog();
    p.applyDelta(deltaOf(2n, [{ $case: "removeWorkloadEndpoint", value: "k8s/default/pod1/eth0" }]));
    await p.apply();
    const gone = indexOf(b, "endpoints", "delete", "cali1");
    expect(gone).toBeGreaterThanOrEqual(0);
    for (const [table, key] of [
      ["routes", "10.65.0.1/32"],
      ["routes", "fd00:65::1/128"],
      ["neighbours", "cali1/10.65.0.1"],
    ]) {
      const at = indexOf(b, table!, "delete", key!);
      expect({ table, key, before: at >= 0 && at < gone }).toEqual({ table, key, before: true });
    }
    expect(b.tables.routes.entries.has("10.65.0.1/32")).toBe(false);
    expect(statusOf(p, ROUTE, "10.65.0.1/32")).toBeUndefined();
  });

  test("no route to an endpoint whose entry could not be written; it follows once the entry is in", async () => {
    const clock = new TestClock();
    const b = newBackend("cali1");
    b.fault = (table, op) => (table === "endpoints" && op === "upsert" ? "device busy" : undefined);
    const p = await programmedWith(b, { workloadEndpoints: [pod(1)] }, { now: clock.now, retry: { minMs: 100, maxMs: 1000 } });
    expect(statusOf(p, WEP, "k8s/default/pod1/eth0")!.state).toBe("ERROR");
    expect(b.tables.routes.entries.has("10.65.0.1/32")).toBe(false);
    expect(b.sysctls.get("net/ipv4/conf/cali1/forwarding")).toBe("0");
    b.fault = undefined;
    clock.advance(100);
    expect(p.needsApply()).toBe(true);
    await p.apply();
    expect(statusOf(p, WEP, "k8s/default/pod1/eth0")!.state).toBe("PROGRAMMED");
    expect(b.tables.routes.entries.has("10.65.0.1/32")).toBe(true);
    expect(statusOf(p, ROUTE, "10.65.0.1/32")).toEqual({ state: "PROGRAMMED", reason: "" });
  });
});

describe("VXLAN and NAT through the programmer", () => {
  test("device, remote VTEP neighbour and FDB, block route, NAT table; statuses per route, VTEP and pool", async () => {
    const b = newBackend("cali1");
    const p = await programmedWith(b, { workloadEndpoints: [pod(1)] });
    const h = b.hostNetwork;
    expect(h.tunnels.value("vxlan.calico")).toEqual({ kind: "vxlan", vni: 4096, port: 4789, local: "10.254.0.1", mtu: 0, mac: "66:00:00:00:00:0a", address: "10.65.0.0" });
    expect(b.tables.neighbours.entries.get("vxlan.calico/10.65.1.0")![1]).toEqual({ mac: "66:00:00:00:00:0b" });
    expect(h.fdb.value("vxlan.calico|66:00:00:00:00:0b")).toEqual({ dst: "10.254.0.2" });
    expect(b.tables.routes.entries.get("10.65.1.0/26")![1]).toEqual({ ifname: "vxlan.calico", via: "10.65.1.0", kind: "unicast", onlink: true });
    expect(h.natOutgoing.value("ipv4")).toEqual({ masquerade: ["10.65.0.0/16"], pools: ["10.65.0.0/16"] });
    const device = indexOf(b, "tunnels", "upsert", "vxlan.calico");
    expect(device).toBeLessThan(indexOf(b, "neighbours", "upsert", "vxlan.calico/10.65.1.0"));
    expect(indexOf(b, "fdb", "upsert", "vxlan.calico|66:00:00:00:00:0b")).toBeLessThan(indexOf(b, "routes", "upsert", "10.65.1.0/26"));
    expect(statusOf(p, ROUTE, "10.65.1.0/26")).toEqual({ state: "PROGRAMMED", reason: "" });
    expect(statusOf(p, VTEP, "node-a")).toEqual({ state: "PROGRAMMED", reason: "" });
    expect(statusOf(p, VTEP, "node-b")).toEqual({ state: "PROGRAMMED", reason: "" });
    expect(statusOf(p, POOL, "10.65.0.0-16")).toEqual({ state: "PROGRAMMED", reason: "" });
  });

  test("a route waits for its VTEP; when the VTEP is removed its entries and routes go, the device last", async () => {
    const b = newBackend();
    const p = await programmedWith(b, { vteps: [CLUSTER.vteps![0]!] });
    expect(statusOf(p, ROUTE, "10.65.1.0/26")).toEqual({ state: "PENDING", reason: "waiting for the IPv4 VTEP of node node-b" });
    expect(b.tables.routes.entries.size).toBe(0);
    p.applyDelta(deltaOf(2n, [{ $case: "vtep", value: CLUSTER.vteps![1]! }]));
    expect(p.needsApply()).toBe(true);
    await p.apply();
    expect(statusOf(p, ROUTE, "10.65.1.0/26")!.state).toBe("PROGRAMMED");

    b.clearHostLog();
    p.applyDelta(deltaOf(3n, [{ $case: "removeRoute", value: "10.65.1.0/26" }, { $case: "removeVtep", value: "node-b" }, { $case: "removeVtep", value: "node-a" }]));
    await p.apply();
    expect(b.hostLog.map((w) => `${w.table} ${w.op} ${w.key}`)).toEqual([
      "routes delete 10.65.1.0/26",
      "neighbours delete vxlan.calico/10.65.1.0",
      "fdb delete vxlan.calico|66:00:00:00:00:0b",
      "tunnels delete vxlan.calico",
    ]);
    expect(statusOf(p, ROUTE, "10.65.1.0/26")).toBeUndefined();
    expect(statusOf(p, VTEP, "node-b")).toBeUndefined();
  });

  test("a failing route write is reported on the route and retried with backoff; other entries are written", async () => {
    const clock = new TestClock();
    const b = newBackend();
    b.fault = (table, op, key) => (table === "routes" && op === "upsert" && key === "10.65.1.0/26" ? "Nexthop has invalid gateway" : undefined);
    const p = await programmedWith(b, {}, { now: clock.now, retry: { minMs: 100, maxMs: 1000 } });
    expect(statusOf(p, ROUTE, "10.65.1.0/26")).toEqual({ state: "ERROR", reason: "Nexthop has invalid gateway" });
    expect(b.hostNetwork.fdb.entries.size).toBe(1);
    const attempts = () => b.log.filter((w) => w.table === "routes" && w.key === "10.65.1.0/26").length;
    expect(attempts()).toBe(1);
    expect(p.needsApply()).toBe(false);
    await p.apply(); // not due yet: held back
    expect(attempts()).toBe(1);
    expect(p.nextRetryAt()).toBe(clock.t + 100);
    b.fault = undefined;
    clock.advance(100);
    expect(p.needsApply()).toBe(true);
    await p.apply();
    expect(attempts()).toBe(2);
    expect(statusOf(p, ROUTE, "10.65.1.0/26")).toEqual({ state: "PROGRAMMED", reason: "" });
  });
});

describe("restart, stale entries and repair", () => {
  test("a fresh programmer over the same state writes nothing at all, sysctls included", async () => {
    const b = newBackend("cali1", "cali2");
    await programmedWith(b, { workloadEndpoints: [pod(1), pod(2)] });
    b.clearHostLog();
    const again = await programmedWith(b, { workloadEndpoints: [pod(1), pod(2)] });
    expect(b.hostLog).toEqual([]);
    expect(again.routeManager.sysctlWrites).toBe(0);
    expect(statusOf(again, ROUTE, "10.65.0.2/32")!.state).toBe("PROGRAMMED");
  });

  test("entries of ours that nothing wants wait for InSync, then go", async () => {
    const b = newBackend("cali1");
    await programmedWith(b, { workloadEndpoints: [pod(1)] });
    const p = new Programmer(b);
    p.applySnapshot(snapshotOf({ ...CLUSTER, routes: [] }, 1n, false));
    await p.apply();
    expect(b.tables.routes.entries.has("10.65.1.0/26")).toBe(true);
    expect(b.tables.routes.entries.has("10.65.0.1/32")).toBe(true);
    p.applyDelta({ version: 2n, changes: [], inSync: true });
    await p.apply();
    expect(b.tables.routes.entries.has("10.65.1.0/26")).toBe(false);
    expect(b.tables.routes.entries.has("10.65.0.1/32")).toBe(false);
    expect(b.tables.endpoints.entries.has("cali1")).toBe(false);
  });

  test("every RouteRefreshInterval the tables are read back and what someone removed is put back", async () => {
    const clock = new TestClock();
    const b = newBackend("cali1");
    const p = await programmedWith(b, { workloadEndpoints: [pod(1)], config: { ...defaultDataplaneConfig(), hostname: "node-a", routeRefreshIntervalSecs: 30 } }, { now: clock.now });
    b.tables.routes.entries.delete("10.65.0.1/32");
    b.sysctls.set("net/ipv4/conf/cali1/forwarding", "0");
    expect(p.nextRetryAt()).toBe(clock.t + 30_000);
    clock.advance(29_999);
    expect(p.needsApply()).toBe(false);
    clock.advance(1);
    expect(p.needsApply()).toBe(true);
    await p.apply();
    expect(b.tables.routes.entries.has("10.65.0.1/32")).toBe(true);
    expect(b.sysctls.get("net/ipv4/conf/cali1/forwarding")).toBe("1");
  });

  test("a device that is written again (recreated) gets its routes, neighbours and FDB back", async () => {
    const b = newBackend();
    const p = await programmedWith(b, {});
    // What recreating the device does in the kernel: everything on it is gone.
    b.tables.routes.entries.clear();
    b.tables.neighbours.entries.clear();
    b.hostNetwork.fdb.entries.clear();
    p.applyDelta(deltaOf(2n, [{ $case: "config", value: { ...defaultDataplaneConfig(), hostname: "node-a", vxlanVni: 4097 } }]));
    await p.apply();
    expect(b.hostNetwork.tunnels.value("vxlan.calico")!.vni).toBe(4097);
    expect(b.tables.routes.entries.has("10.65.1.0/26")).toBe(true);
    expect(b.tables.neighbours.entries.has("vxlan.calico/10.65.1.0")).toBe(true);
    expect(b.hostNetwork.fdb.entries.has("vxlan.calico|66:00:00:00:00:0b")).toBe(true);
  });
});

describe("failures that must not stop policy", () => {
  test("a host network table that cannot be read: endpoints and the other tables are still programmed; it catches up later", async () => {
    const clock = new TestClock();
    const b = newBackend("cali1");
    b.hostNetwork.tunnels.broken = "netlink socket closed";
    const p = await programmedWith(b, { workloadEndpoints: [pod(1)] }, { now: clock.now, retry: { minMs: 100, maxMs: 1000 } });
    expect(statusOf(p, WEP, "k8s/default/pod1/eth0")!.state).toBe("PROGRAMMED");
    expect(p.lastApply!.error).toBeUndefined();
    expect(b.tables.routes.entries.has("10.65.0.1/32")).toBe(true);
    expect(b.hostNetwork.natOutgoing.entries.size).toBe(1);
    expect(statusOf(p, VTEP, "node-a")).toEqual({ state: "ERROR", reason: "tunnels: netlink socket closed" });
    expect(statusOf(p, sync.ObjectKind.OBJECT_KIND_CONFIG, "device:vxlan.calico")).toEqual({ state: "ERROR", reason: "tunnels: netlink socket closed" });
    expect(p.needsApply()).toBe(false);
    b.hostNetwork.tunnels.broken = undefined;
    clock.advance(100);
    expect(p.needsApply()).toBe(true);
    await p.apply();
    expect(b.hostNetwork.tunnels.entries.has("vxlan.calico")).toBe(true);
    expect(statusOf(p, VTEP, "node-a")).toEqual({ state: "PROGRAMMED", reason: "" });
    expect(statusOf(p, sync.ObjectKind.OBJECT_KIND_CONFIG, "device:vxlan.calico")).toBeUndefined();
  });

  test("sysctls of an interface that is not there yet are retried; IPv6 ones are skipped on an interface without IPv6", async () => {
    const clock = new TestClock();
    const b = newBackend();
    const p = await programmedWith(b, { workloadEndpoints: [pod(1)] }, { now: clock.now, retry: { minMs: 100, maxMs: 1000 } });
    expect(statusOf(p, ROUTE, "10.65.0.1/32")).toEqual({ state: "ERROR", reason: expect.stringContaining("sysctls: sysctl net/ipv4/conf/cali1/route_localnet: does not exist") });
    b.addInterface("cali1", true);
    clock.advance(100);
    await p.apply();
    expect(statusOf(p, ROUTE, "10.65.0.1/32")).toEqual({ state: "PROGRAMMED", reason: "" });
    expect(b.sysctls.get("net/ipv4/neigh/cali1/proxy_delay")).toBe("0");
    expect(b.sysctls.get("net/ipv4/conf/cali1/proxy_arp")).toBe("0");
    expect(b.sysctls.has("net/ipv6/conf/cali1/forwarding")).toBe(false);
  });

  test("a backend that does not forward gets no routes or neighbours written", async () => {
    const b = new ReferenceDpuBackend();
    const p = new Programmer(b);
    p.applySnapshot(snapshotOf({ ...emptyDesiredState(), ...CLUSTER, workloadEndpoints: [pod(1)] }, 1n));
    await p.apply();
    expect(b.tables.routes.writes + b.tables.neighbours.writes).toBe(0);
    expect(p.routeManager.active).toBe(false);
    expect(p.needsApply()).toBe(false);
  });
});

describe("dirty gating", () => {
  test("an IP-set-only delta does not re-plan routes; an endpoint, route or config change does", async () => {
    const b = newBackend("cali1", "cali2");
    const p = await programmedWith(b, { workloadEndpoints: [pod(1)], ipSets: [testing.ipSet("s-a", "net", ["10.9.0.1/32"])] });
    while (p.needsApply()) await p.apply();
    const plans = p.routeManager.plans;
    expect(plans).toBeGreaterThan(0);
    const routeWrites = p.routeManager.writeCounts();

    // A member change: the set members table is written, the route planner is not run.
    p.applyDelta(deltaOf(2n, [{ $case: "ipSetDelta", value: { id: "s-a", added: ["10.9.0.2/32"], removed: [] } }]));
    expect(p.needsApply()).toBe(true);
    await p.apply();
    expect(p.lastApply!.writesByTable.setMembers).toBeGreaterThan(0);
    expect(p.routeManager.plans).toBe(plans);
    expect(p.routeManager.writeCounts()).toEqual(routeWrites);
    expect(p.needsApply()).toBe(false);
    // An apply with nothing to do does not plan either.
    await p.apply();
    expect(p.routeManager.plans).toBe(plans);

    // A new workload endpoint: planned, and routed.
    p.applyDelta(deltaOf(3n, [{ $case: "workloadEndpoint", value: pod(2) }]));
    await p.apply();
    expect(p.routeManager.plans).toBeGreaterThan(plans);
    expect(b.tables.routes.entries.get("10.65.0.2/32")![1]).toEqual({ ifname: "cali2", via: "", kind: "unicast", onlink: false });

    // A Felix route: planned.
    const before = p.routeManager.plans;
    p.applyDelta(deltaOf(4n, [{ $case: "route", value: { ...remoteBlock(), dst: "10.65.2.0/26", dstNodeName: "node-b" } }]));
    await p.apply();
    expect(p.routeManager.plans).toBeGreaterThan(before);
    expect(b.tables.routes.entries.has("10.65.2.0/26")).toBe(true);
  });

  test("the periodic refresh still re-plans (and repairs) with no model change", async () => {
    const clock = new TestClock();
    const b = newBackend("cali1");
    const p = await programmedWith(b, { workloadEndpoints: [pod(1)] }, { now: clock.now });
    while (p.needsApply()) await p.apply();
    const plans = p.routeManager.plans;
    b.tables.routes.entries.delete("10.65.0.1/32");
    await p.apply();
    expect(p.routeManager.plans).toBe(plans);
    clock.advance(90_000);
    expect(p.needsApply()).toBe(true);
    await p.apply();
    expect(p.routeManager.plans).toBe(plans + 1);
    expect(b.tables.routes.entries.has("10.65.0.1/32")).toBe(true);
  });
});
