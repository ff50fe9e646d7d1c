/** `ip -j address show` -> HostInterface: Ethernet or not, up or not, addresses and IPv4 broadcasts. */
import { parseHostInterfaces } from "./host-interfaces";

test("links, their state and addresses; broadcast addresses are host addresses too", () => {
  const parsed = parseHostInterfaces([
    {
      ifname: "lo",
      flags: ["LOOPBACK", "UP", "LOWER_UP"],
      link_type: "loopback",
      addr_info: [
        { family: "inet", local: "127.0.0.1", prefixlen: 8 },
        { family: "inet6", local: "::1", prefixlen: 128 },
      ],
    },
    {
      ifname: "eth0",
      flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
      link_type: "ether",
      addr_info: [
        { family: "inet", local: "10.0.0.5", prefixlen: 24, broadcast: "10.0.0.255" },
        { family: "inet6", local: "fe80::1", prefixlen: 64 },
      ],
    },
    { ifname: "tunl0", flags: ["NOARP"], link_type: "ipip", addr_info: [] },
    { flags: ["UP"] },
  ]);
  expect(parsed).toEqual([
    { ifname: "lo", ethernet: false, up: true, addrs: ["127.0.0.1/8", "::1/128"] },
    { ifname: "eth0", ethernet: true, up: true, addrs: ["10.0.0.5/24", "10.0.0.255/32", "fe80::1/64"] },
    { ifname: "tunl0", ethernet: false, up: false, addrs: [] },
  ]);
});
