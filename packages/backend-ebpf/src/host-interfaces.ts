/**
 * The host's interfaces and addresses, as the policy programmer needs them to resolve host
 * endpoints ("*", by name, by expected address) and to fill the host-address set: one
 * `ip -j address show` in this network namespace.
 */
import type { HostInterface } from "@ptables/api";
import { ipJson } from "./tables/ip-command";

interface IpAddrInfo {
  family?: string;
  local?: string;
  prefixlen?: number;
  broadcast?: string;
}

interface IpLink {
  ifname?: string;
  flags?: string[];
  link_type?: string;
  addr_info?: IpAddrInfo[];
}

/** Turns `ip -j address show` output into HostInterfaces (exported for tests). */
export function parseHostInterfaces(links: IpLink[]): HostInterface[] {
  const out: HostInterface[] = [];
  for (const link of links) {
    if (typeof link.ifname !== "string" || link.ifname === "") continue;
    // "veth0@if3" style names only appear in the text output, but be safe.
    const ifname = link.ifname.split("@")[0]!;
    const addrs: string[] = [];
    for (const a of link.addr_info ?? []) {
      if ((a.family !== "inet" && a.family !== "inet6") || typeof a.local !== "string" || typeof a.prefixlen !== "number") continue;
      addrs.push(`${a.local}/${a.prefixlen}`);
      if (a.family === "inet" && typeof a.broadcast === "string" && a.broadcast !== "") addrs.push(`${a.broadcast}/32`);
    }
    out.push({
      ifname,
      ethernet: link.link_type === "ether",
      up: (link.flags ?? []).includes("UP"),
      addrs,
    });
  }
  return out;
}

/** Every link of this network namespace with its addresses. */
export async function listHostInterfaces(): Promise<HostInterface[]> {
  return parseHostInterfaces(await ipJson<IpLink>(["address", "show"]));
}
