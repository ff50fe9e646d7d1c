/**
 * The host-network tables without a kernel: what they run (argv and stdin, never a shell),
 * how they read JSON back, and what they refuse before running anything.
 */
import { LinuxHostNetwork } from "./linux-host-network";
import type { CommandResult, HostSystem } from "./host-system";
import { natDeleteScript, natScript, parseNatTable } from "./nat-table";
import { checkTunnel, parseTunnelAlias, tunnelOverhead } from "./tunnels-table";

/** Records every command; answers from a table of canned results by the command's start. */
class FakeSystem implements HostSystem {
  readonly ran: Array<{ argv: string[]; input?: string }> = [];
  readonly files = new Map<string, string>();
  readonly written: Array<[string, string]> = [];
  constructor(private readonly answers: Array<[string, Partial<CommandResult>]> = []) {}

  async run(argv: readonly string[], input?: string): Promise<CommandResult> {
    this.ran.push({ argv: [...argv], ...(input !== undefined ? { input } : {}) });
    const line = argv.join(" ");
    const found = this.answers.find(([prefix]) => line.startsWith(prefix));
    return { code: 0, stdout: "", stderr: "", ...found?.[1] };
  }

  async readFile(path: string): Promise<string | undefined> {
    return this.files.get(path);
  }

  async writeFile(path: string, value: string): Promise<void> {
    this.files.set(path, `${value}\n`);
    this.written.push([path, value]);
  }
}

describe("tunnels", () => {
  test("values are checked and made canonical before anything runs", () => {
    const v = checkTunnel({ ifname: "vxlan.calico" }, { kind: "vxlan", vni: 4096, port: 4789, local: "10.254.0.1", mtu: 0, mac: "66:00:00:00:00:AA", address: "fd00:65:0::" });
    expect(v).toEqual({ kind: "vxlan", vni: 4096, port: 4789, local: "10.254.0.1", mtu: 0, mac: "66:00:00:00:00:aa", address: "fd00:65::" });
    expect(() => checkTunnel({ ifname: "vxlan.calico" }, { ...v, vni: 1 << 24 })).toThrow("vni 16777216 is not in 0..16777215");
    expect(() => checkTunnel({ ifname: "vxlan.calico" }, { ...v, local: "" })).toThrow("needs the node's address");
    expect(() => checkTunnel({ ifname: "bad name" }, v)).toThrow("ifname is not a valid interface name");
    expect(() => checkTunnel({ ifname: "tunl0" }, { ...v, kind: "ipip" })).toThrow("an IPIP device has no vni or port");
    expect(() => checkTunnel({ ifname: "vxlan.calico" }, { ...v, mtu: 20 })).toThrow("mtu 20 is not 0 (automatic) or 68..65535");
  });

  test("the alias carries the spec; anything else is not ours", () => {
    expect(parseTunnelAlias('ptables:{"kind":"ipip","vni":0,"port":0,"local":"","mtu":1480,"mac":"","address":"10.70.0.1"}')).toEqual({
      kind: "ipip",
      vni: 0,
      port: 0,
      local: "",
      mtu: 1480,
      mac: "",
      address: "10.70.0.1",
    });
    expect(parseTunnelAlias("felix")).toBeUndefined();
    expect(parseTunnelAlias("ptables:{broken")).toBeUndefined();
    expect(parseTunnelAlias(undefined)).toBeUndefined();
  });

  test("automatic MTU overheads: VXLAN over IPv4 50, over IPv6 70, IPIP 20", () => {
    expect(tunnelOverhead({ kind: "vxlan", local: "10.0.0.1" })).toBe(50);
    expect(tunnelOverhead({ kind: "vxlan", local: "fd00::1" })).toBe(70);
    expect(tunnelOverhead({ kind: "ipip", local: "" })).toBe(20);
  });

  test("an IPIP device is created remote any local any, as the kernel's fallback tunl0", async () => {
    const sys = new FakeSystem([
      ["ip -j addr show dev tunl0", { stdout: "[]" }],
      ["ip -j addr show", { stdout: JSON.stringify([{ ifname: "eth0", mtu: 1500, addr_info: [{ family: "inet", local: "10.254.0.1", prefixlen: 24, scope: "global" }] }]) }],
      ["ip -j -d link show dev tunl0", { code: 1, stderr: 'Device "tunl0" does not exist.' }],
    ]);
    const net = new LinuxHostNetwork(sys);
    const errors = await net.tunnels.applyBatch([[{ ifname: "tunl0" }, { kind: "ipip", vni: 0, port: 0, local: "10.254.0.1", mtu: 0, mac: "", address: "10.70.0.1" }]], []);
    expect(errors).toEqual([]);
    const commands = sys.ran.map((r) => r.argv.join(" "));
    expect(commands).toContain("ip link add tunl0 type ipip remote any local any");
    expect(commands).toContain("ip link set dev tunl0 mtu 1480");
    expect(commands).toContain("ip addr replace 10.70.0.1/32 dev tunl0");
    expect(commands.find((c) => c.startsWith("ip link set dev tunl0 alias "))).toBe(
      'ip link set dev tunl0 alias ptables:{"kind":"ipip","vni":0,"port":0,"local":"10.254.0.1","mtu":0,"mac":"","address":"10.70.0.1"}',
    );
  });
});

describe("FDB", () => {
  test("one bridge batch; bad entries are refused per entry; deleting what is not there succeeds", async () => {
    const sys = new FakeSystem([["bridge -force -batch -", { stderr: "RTNETLINK answers: No such file or directory\nCommand failed -:2\n" }]]);
    const net = new LinuxHostNetwork(sys);
    const errors = await net.fdb.applyBatch(
      [
        [{ ifname: "vxlan.calico", mac: "66:00:00:00:00:0B" }, { dst: "10.254.0.2" }],
        [{ ifname: "vxlan.calico", mac: "not-a-mac" }, { dst: "10.254.0.3" }],
      ],
      [{ ifname: "vxlan.calico", mac: "66:00:00:00:00:0c" }],
    );
    expect(errors).toEqual([{ index: 1, op: "upsert", message: 'fdb vxlan.calico/not-a-mac: MAC "not-a-mac" is not xx:xx:xx:xx:xx:xx' }]);
    expect(sys.ran).toEqual([
      {
        argv: ["bridge", "-force", "-batch", "-"],
        input: "fdb replace 66:00:00:00:00:0b dev vxlan.calico dst 10.254.0.2 self permanent\nfdb del 66:00:00:00:00:0c dev vxlan.calico self\n",
      },
    ]);
  });

  test("the readback takes permanent entries with a destination on ptables' VXLAN devices only", async () => {
    const sys = new FakeSystem([
      ["ip -j -d link show type vxlan", { stdout: JSON.stringify([{ ifname: "vxlan.calico", ifalias: "ptables:{}" }, { ifname: "vxlan.other" }]) }],
      [
        "bridge -j fdb show dev vxlan.calico",
        {
          stdout: JSON.stringify([
            { mac: "66:00:00:00:00:0B", dst: "10.254.0.2", state: "permanent" },
            { mac: "66:00:00:00:00:0c", dst: "10.254.0.3" },
            { mac: "66:00:00:00:00:0d", state: "permanent" },
          ]),
        },
      ],
    ]);
    expect(await new LinuxHostNetwork(sys).fdb.loadAll()).toEqual([[{ ifname: "vxlan.calico", mac: "66:00:00:00:00:0b" }, { dst: "10.254.0.2" }]]);
    expect(sys.ran.some((r) => r.argv.includes("vxlan.other"))).toBe(false);
  });
});

describe("NAT outgoing", () => {
  test("the table is replaced in one nft transaction; deleting is idempotent", () => {
    expect(natScript(4, { masquerade: ["10.65.0.0/16"], pools: ["10.65.0.0/16", "10.66.0.0/16"] })).toBe(
      [
        "table ip ptables-nat {}",
        "delete table ip ptables-nat",
        "table ip ptables-nat {",
        "  set masq-pools { type ipv4_addr; flags interval; elements = { 10.65.0.0/16 }; }",
        "  set all-pools { type ipv4_addr; flags interval; elements = { 10.65.0.0/16, 10.66.0.0/16 }; }",
        "  chain postrouting {",
        "    type nat hook postrouting priority srcnat; policy accept;",
        "    ip saddr @masq-pools ip daddr != @all-pools counter masquerade fully-random",
        "  }",
        "}",
        "",
      ].join("\n"),
    );
    expect(natDeleteScript(6)).toBe("table ip6 ptables-nat {}\ndelete table ip6 ptables-nat\n");
  });

  test("the readback parses nft's JSON (prefixes and single addresses) and flags anything not ours", () => {
    const ours = {
      nftables: [
        { table: { family: "ip", name: "ptables-nat" } },
        { set: { name: "masq-pools", elem: [{ prefix: { addr: "10.65.0.0", len: 16 } }, "10.99.0.5"] } },
        { set: { name: "all-pools", elem: [{ prefix: { addr: "10.65.0.0", len: 16 } }, "10.99.0.5"] } },
        { chain: { name: "postrouting", type: "nat", hook: "postrouting", prio: 100, policy: "accept" } },
        {
          rule: {
            chain: "postrouting",
            expr: [
              { match: { op: "==", left: { payload: { protocol: "ip", field: "saddr" } }, right: "@masq-pools" } },
              { match: { op: "!=", left: { payload: { protocol: "ip", field: "daddr" } }, right: "@all-pools" } },
              { counter: { packets: 3, bytes: 180 } },
              { masquerade: { flags: "fully-random" } },
            ],
          },
        },
      ],
    };
    expect(parseNatTable(4, ours)).toEqual({ masquerade: ["10.65.0.0/16", "10.99.0.5/32"], pools: ["10.65.0.0/16", "10.99.0.5/32"] });
    const extra = { nftables: [...ours.nftables, { rule: { chain: "postrouting", expr: [{ accept: null }] } }] };
    expect(parseNatTable(4, extra).drift).toBe("postrouting holds 2 rule(s), not exactly the masquerade rule");
    expect(parseNatTable(4, { nftables: ours.nftables.filter((i) => !("chain" in i)) }).drift).toContain("chain postrouting is not ours");
  });

  test("an absent table reads back as nothing; another nft failure is the table's failure", async () => {
    const absent = new FakeSystem([["nft -j list table", { code: 1, stderr: "Error: No such file or directory; did you mean table 'filter'?" }]]);
    expect(await new LinuxHostNetwork(absent).natOutgoing.loadAll()).toEqual([]);
    const broken = new FakeSystem([["nft -j list table", { code: 1, stderr: "Error: Could not process rule: Operation not permitted" }]]);
    await expect(new LinuxHostNetwork(broken).natOutgoing.loadAll()).rejects.toThrow("Operation not permitted");
  });
});

describe("sysctls", () => {
  test("written only when different; a missing file is an error unless optional; the default rp_filter falls back to strict", async () => {
    const sys = new FakeSystem();
    sys.files.set("/proc/sys/net/ipv4/conf/cali1/forwarding", "1\n");
    sys.files.set("/proc/sys/net/ipv4/conf/cali1/rp_filter", "2\n");
    const net = new LinuxHostNetwork(sys);
    const settings = [
      { path: "net/ipv4/conf/cali1/forwarding", value: "1" },
      { path: "net/ipv4/conf/cali1/rp_filter", value: "1" },
      { path: "net/ipv6/conf/cali1/accept_ra", value: "0" },
    ];
    expect(await net.setSysctls(settings, (s) => s.path.startsWith("net/ipv6/"))).toBe(1);
    expect(sys.written).toEqual([["/proc/sys/net/ipv4/conf/cali1/rp_filter", "1"]]);
    await expect(net.setSysctls(settings)).rejects.toThrow("sysctl net.ipv6.conf.cali1.accept_ra: does not exist (is the interface there?)");
    await expect(net.setSysctls([{ path: "net/ipv4/conf/../../x/forwarding", value: "1" }])).rejects.toThrow("not a per-interface network setting");
    expect(await net.defaultRpFilter()).toBe("1");
    sys.files.set("/proc/sys/net/ipv4/conf/default/rp_filter", "2\n");
    expect(await net.defaultRpFilter()).toBe("2");
  });
});
