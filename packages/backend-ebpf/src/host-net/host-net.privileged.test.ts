/**
 * The host-network tables against a real kernel, inside a node namespace this test creates:
 * tunnel devices (create, read back exactly, drift, in-place update vs recreate, delete), the
 * VXLAN FDB, the NAT-outgoing nftables table, sysctls, cleanup leaving foreign objects alone, and
 * the routes table refusing to replace BIRD's routes.
 */
import type { TunnelValue } from "@ptables/api";
import { createTopology, type NodeNs } from "@ptables/testkit";
import { RemoteHostNetwork } from "./testing/remote-host-network";

const isRoot = process.getuid?.() === 0;
const describeIfRoot = isRoot ? describe : describe.skip;
const topology = createTopology({ prefix: "pthostnet" });

interface LinkJson {
  ifindex: number;
  ifname: string;
  mtu: number;
  address: string;
  flags: string[];
  ifalias?: string;
  linkinfo?: { info_kind: string; info_data?: Record<string, unknown> };
}

describeIfRoot("privileged: host network tables in a node namespace", () => {
  let node: NodeNs;
  let net: RemoteHostNetwork;
  const ip = async (...args: string[]) => (await topology.ip(node.ns, args)).stdout;
  const link = async (ifname: string): Promise<LinkJson | undefined> => {
    const all = JSON.parse(await ip("-j", "-d", "link", "show")) as LinkJson[];
    return all.find((l) => l.ifname === ifname);
  };
  const addrs = async (ifname: string): Promise<string[]> => {
    const [l] = JSON.parse(await ip("-j", "addr", "show", "dev", ifname)) as Array<{ addr_info: Array<{ local: string; prefixlen: number; scope: string }> }>;
    return l!.addr_info.filter((a) => a.scope !== "link").map((a) => `${a.local}/${a.prefixlen}`);
  };
  const nft = async (...args: string[]) => (await topology.exec(node.ns, ["nft", ...args])).stdout;

  const VXLAN: TunnelValue = { kind: "vxlan", vni: 4096, port: 4789, local: "10.254.0.1", mtu: 0, mac: "66:00:00:00:00:0a", address: "10.65.0.0" };

  beforeAll(async () => {
    node = await topology.addNode("n1");
    await ip("link", "add", "eth0", "type", "veth", "peer", "name", "peer0");
    await ip("addr", "add", "10.254.0.1/24", "dev", "eth0");
    await ip("addr", "add", "fd00:fe::1/64", "dev", "eth0", "nodad");
    await ip("link", "set", "eth0", "up");
    await ip("link", "set", "peer0", "up");
    net = RemoteHostNetwork.start(node.ns);
  }, 30_000);

  afterAll(async () => {
    await net?.stop();
    await topology.destroy();
  }, 30_000);

  test("a VXLAN device: created as specified, read back exactly, updated in place, recreated only for fixed parameters", async () => {
    expect(await net.tunnels.applyBatch([[{ ifname: "vxlan.calico" }, VXLAN]], [])).toEqual([]);
    const dev = (await link("vxlan.calico"))!;
    expect(dev.linkinfo!.info_kind).toBe("vxlan");
    expect(dev.linkinfo!.info_data).toMatchObject({ id: 4096, port: 4789, local: "10.254.0.1", link: "eth0", learning: false });
    expect({ mtu: dev.mtu, mac: dev.address, up: dev.flags.includes("UP") }).toEqual({ mtu: 1450, mac: "66:00:00:00:00:0a", up: true });
    expect(await addrs("vxlan.calico")).toEqual(["10.65.0.0/32"]);
    expect(dev.ifalias).toMatch(/^ptables:/);
    expect(await net.tunnels.loadAll()).toEqual([[{ ifname: "vxlan.calico" }, VXLAN]]);

    // The parent's MTU changes: the readback reports drift, a write fixes the MTU in place.
    await ip("link", "set", "eth0", "mtu", "1400");
    const [[, drifted]] = await net.tunnels.loadAll();
    expect(drifted!.drift).toBe("mtu 1450, want 1350");
    expect(await net.tunnels.applyBatch([[{ ifname: "vxlan.calico" }, VXLAN]], [])).toEqual([]);
    expect((await link("vxlan.calico"))!.ifindex).toBe(dev.ifindex);
    expect((await link("vxlan.calico"))!.mtu).toBe(1350);
    await ip("link", "set", "eth0", "mtu", "1500");

    // Someone adds an address: drift, and the write leaves exactly the tunnel address.
    await ip("addr", "add", "192.0.2.9/32", "dev", "vxlan.calico");
    expect((await net.tunnels.loadAll())[0]![1].drift).toContain("addresses");
    const v2 = { ...VXLAN, vni: 4097, mtu: 1400, address: "10.65.0.1" };
    expect(await net.tunnels.applyBatch([[{ ifname: "vxlan.calico" }, v2]], [])).toEqual([]);
    const recreated = (await link("vxlan.calico"))!;
    expect(recreated.ifindex).not.toBe(dev.ifindex);
    expect({ vni: recreated.linkinfo!.info_data!.id, mtu: recreated.mtu }).toEqual({ vni: 4097, mtu: 1400 });
    expect(await addrs("vxlan.calico")).toEqual(["10.65.0.1/32"]);
    expect(await net.tunnels.loadAll()).toEqual([[{ ifname: "vxlan.calico" }, v2]]);
  });

  test("an IPv6 VXLAN device derives its MTU with the IPv6 overhead", async () => {
    const v6: TunnelValue = { kind: "vxlan", vni: 4096, port: 4789, local: "fd00:fe::1", mtu: 0, mac: "66:00:00:00:06:0a", address: "fd00:65::" };
    expect(await net.tunnels.applyBatch([[{ ifname: "vxlan-v6.calico" }, v6]], [])).toEqual([]);
    expect((await link("vxlan-v6.calico"))!.mtu).toBe(1430);
    expect((await link("vxlan-v6.calico"))!.linkinfo!.info_data).toMatchObject({ local6: "fd00:fe::1" });
    expect(await addrs("vxlan-v6.calico")).toEqual(["fd00:65::/128"]);
    expect((await net.tunnels.loadAll()).find(([k]) => k.ifname === "vxlan-v6.calico")).toEqual([{ ifname: "vxlan-v6.calico" }, v6]);
    expect(await net.tunnels.applyBatch([], [{ ifname: "vxlan-v6.calico" }])).toEqual([]);
    expect(await link("vxlan-v6.calico")).toBeUndefined();
  });

  test("a device without a parent holding its local address is refused with the reason", async () => {
    const errors = await net.tunnels.applyBatch([[{ ifname: "vxlan.x" }, { ...VXLAN, local: "10.254.0.99" }]], []);
    expect(errors).toEqual([{ index: 0, op: "upsert", message: "no interface has the node's address 10.254.0.99 (the tunnel's parent)" }]);
    expect(await link("vxlan.x")).toBeUndefined();
  });

  test("FDB entries on ptables' device: written, read back, deleted; deleting an absent one succeeds", async () => {
    const ups: Array<[{ ifname: string; mac: string }, { dst: string }]> = [
      [{ ifname: "vxlan.calico", mac: "66:00:00:00:00:0b" }, { dst: "10.254.0.2" }],
      [{ ifname: "vxlan.calico", mac: "66:00:00:00:00:0C" }, { dst: "10.254.0.3" }],
    ];
    expect(await net.fdb.applyBatch(ups, [])).toEqual([]);
    const shown = (await topology.exec(node.ns, ["bridge", "fdb", "show", "dev", "vxlan.calico"])).stdout;
    expect(shown).toContain("66:00:00:00:00:0b dst 10.254.0.2 self permanent");
    expect((await net.fdb.loadAll()).sort(([a], [b]) => (a.mac < b.mac ? -1 : 1))).toEqual([
      [{ ifname: "vxlan.calico", mac: "66:00:00:00:00:0b" }, { dst: "10.254.0.2" }],
      [{ ifname: "vxlan.calico", mac: "66:00:00:00:00:0c" }, { dst: "10.254.0.3" }],
    ]);
    expect(await net.fdb.applyBatch([], [{ ifname: "vxlan.calico", mac: "66:00:00:00:00:0c" }, { ifname: "vxlan.calico", mac: "66:00:00:00:00:99" }])).toEqual([]);
    expect(await net.fdb.loadAll()).toEqual([[{ ifname: "vxlan.calico", mac: "66:00:00:00:00:0b" }, { dst: "10.254.0.2" }]]);
  });

  test("NAT outgoing: the table is exactly Felix's masquerade rule, read back, repaired after tampering, removed", async () => {
    const value = { masquerade: ["10.65.0.0/16"], pools: ["10.65.0.0/16", "10.66.0.0/16"] };
    expect(await net.natOutgoing.applyBatch([[{ family: 4 }, value]], [])).toEqual([]);
    const text = await nft("list", "table", "ip", "ptables-nat");
    expect(text).toContain("ip saddr @masq-pools ip daddr != @all-pools counter packets 0 bytes 0 masquerade fully-random");
    expect(text).toContain("type nat hook postrouting priority srcnat; policy accept;");
    expect(await net.natOutgoing.loadAll()).toEqual([[{ family: 4 }, value]]);
    await nft("flush", "chain", "ip", "ptables-nat", "postrouting");
    expect((await net.natOutgoing.loadAll())[0]![1].drift).toBe("postrouting holds 0 rule(s), not exactly the masquerade rule");
    expect(await net.natOutgoing.applyBatch([[{ family: 4 }, value]], [])).toEqual([]);
    expect(await net.natOutgoing.loadAll()).toEqual([[{ family: 4 }, value]]);
    const v6 = { masquerade: ["fd00:65::/112"], pools: ["fd00:65::/112"] };
    expect(await net.natOutgoing.applyBatch([[{ family: 6 }, v6]], [])).toEqual([]);
    expect(await nft("list", "table", "ip6", "ptables-nat")).toContain("ip6 saddr @masq-pools ip6 daddr != @all-pools");
    expect(await net.natOutgoing.applyBatch([], [{ family: 6 }, { family: 6 }])).toEqual([]);
    expect(await net.natOutgoing.loadAll()).toEqual([[{ family: 4 }, value]]);
    const bad = await net.natOutgoing.applyBatch([[{ family: 4 }, { masquerade: ["10.1.0.0/16"], pools: [] }]], []);
    expect(bad[0]!.message).toContain("masquerade pools 10.1.0.0/16 are not in pools");
  });

  test("sysctls: only differing values are written; a missing interface is an error unless optional", async () => {
    await ip("link", "add", "cali1", "type", "veth", "peer", "name", "cali1p");
    const s = [
      { path: "net/ipv4/conf/cali1/route_localnet", value: "1" },
      { path: "net/ipv4/neigh/cali1/proxy_delay", value: "0" },
      { path: "net/ipv6/conf/cali1/accept_ra", value: "0" },
    ];
    expect(await net.setSysctls(s)).toBe(3);
    expect(await net.setSysctls(s)).toBe(0);
    const read = async (p: string) => (await topology.exec(node.ns, ["cat", `/proc/sys/${p}`])).stdout.trim();
    expect(await read("net/ipv4/neigh/cali1/proxy_delay")).toBe("0");
    const missing = [{ path: "net/ipv6/conf/nope0/accept_ra", value: "0" }];
    await expect(net.setSysctls(missing)).rejects.toThrow("sysctl net.ipv6.conf.nope0.accept_ra: does not exist");
    expect(await net.setSysctls(missing, ["net/ipv6/conf/nope0/accept_ra"])).toBe(0);
    await expect(net.setSysctls([{ path: "kernel/hostname", value: "1" }])).rejects.toThrow("not a per-interface network setting");
    expect(await net.defaultRpFilter()).toMatch(/^[012]$/);
  });

  test("routes: a destination BIRD routes is refused and left as it is", async () => {
    await ip("route", "add", "10.99.0.0/24", "via", "10.254.0.9", "proto", "bird");
    const errors = await net.routes.applyBatch(
      [
        [{ dst: "10.99.0.0/24" }, { ifname: "eth0", via: "", kind: "unicast", onlink: false }],
        [{ dst: "10.98.0.0/24" }, { ifname: "", via: "10.254.0.8", kind: "unicast", onlink: false }],
      ],
      [],
    );
    expect(errors).toEqual([{ index: 0, op: "upsert", message: "route 10.99.0.0/24: BIRD routes it (proto bird); ptables leaves BIRD's routes alone" }]);
    expect((await ip("route", "show", "10.99.0.0/24")).trim()).toBe("10.99.0.0/24 via 10.254.0.9 dev eth0 proto bird");
    expect((await ip("route", "show", "10.98.0.0/24")).trim()).toBe("10.98.0.0/24 via 10.254.0.8 dev eth0 proto 80");
    expect(await net.routes.applyBatch([], [{ dst: "10.98.0.0/24" }])).toEqual([]);
  });

  test("cleanup removes ptables' devices and NAT tables and nothing else", async () => {
    await ip("link", "add", "vxlan.other", "type", "vxlan", "id", "7", "dstport", "4789", "local", "10.254.0.1", "dev", "eth0");
    await nft("add", "table", "ip", "someone-else");
    await net.cleanup();
    expect(await link("vxlan.calico")).toBeUndefined();
    expect(await link("vxlan.other")).toBeDefined();
    const tables = await nft("list", "tables");
    expect(tables).not.toContain("ptables-nat");
    expect(tables).toContain("table ip someone-else");
    expect(await net.tunnels.loadAll()).toEqual([]);
    expect(await net.natOutgoing.loadAll()).toEqual([]);
  });
});
