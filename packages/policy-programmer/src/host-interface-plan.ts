/**
 * Which host interfaces ptables programs, and which host endpoint governs each one
 * (felix-protocol.md §3.6, after Felix's resolveHostEndpoints):
 *
 * - host interfaces are the links the backend reports except loopback and workload interfaces
 *   (names starting with one of InterfacePrefix's prefixes, or claimed by a workload endpoint);
 * - a host endpoint with a name matches that interface only; one with an empty name matches
 *   the interfaces holding any of its expected IPv4/IPv6 addresses; when several match one
 *   interface, the lexically smallest key wins;
 * - an interface no such host endpoint matches takes the "*" host endpoint, if there is one
 *   (again the smallest key): "*" means every host interface the backend reports, whatever its
 *   state, that no more specific host endpoint claims;
 * - an interface nothing governs is still programmed "watch only" when `watchAll` is set (the
 *   datapath needs it to resolve deferred Service verdicts of packets leaving by it).
 *
 * The plan is recomputed from scratch whenever host endpoints, interfaces or the configuration
 * change; it is pure, so it is tested on its own.
 */
import type { HostEndpoint, HostInterface } from "@ptables/api";
import { familyBits, formatCidr, parseCidr, parseIp } from "@ptables/policy-core";

export interface PlannedInterface {
  ifname: string;
  /** The governing host endpoint's key; undefined for a watch-only interface. */
  hep?: string;
  ethernet: boolean;
}

export interface HostInterfacePlan {
  interfaces: Map<string, PlannedInterface>;
  /** Per host endpoint: the interfaces it governs (empty when it matches none), or why it cannot. */
  heps: Map<string, { ifnames: string[]; problem?: string }>;
  /** The "*" host endpoint in effect (for RETURN's to-host program), if any. */
  star?: string;
}

export function workloadPrefixes(interfacePrefix: string | undefined): string[] {
  return (interfacePrefix || "cali")
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
}

/** Canonical text of an address ("10.0.0.5/24" -> "10.0.0.5"), undefined if it is not one. */
function addressOf(text: string): string | undefined {
  if (text.includes("/") && parseCidr(text) === undefined) return undefined;
  const ip = parseIp(text.includes("/") ? text.slice(0, text.indexOf("/")) : text);
  return ip ? `${ip.family}/${ip.value.toString(16)}` : undefined;
}

export function planHostInterfaces(options: {
  heps: Iterable<HostEndpoint>;
  interfaces: readonly HostInterface[];
  interfacePrefix: string | undefined;
  /** Interfaces workload endpoints own (never host interfaces). */
  workloadIfnames: ReadonlySet<string>;
  watchAll: boolean;
}): HostInterfacePlan {
  const prefixes = workloadPrefixes(options.interfacePrefix);
  const isWorkload = (ifname: string) => options.workloadIfnames.has(ifname) || prefixes.some((p) => ifname.startsWith(p));
  const hostIfaces = options.interfaces.filter((i) => i.ifname !== "lo" && !isWorkload(i.ifname));
  const addrsByIface = new Map(hostIfaces.map((i) => [i.ifname, new Set(i.addrs.map(addressOf).filter((a): a is string => a !== undefined))]));

  const heps = [...options.heps].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const result: HostInterfacePlan = { interfaces: new Map(), heps: new Map() };
  for (const hep of heps) {
    const problem =
      hep.ifname === "lo"
        ? "the loopback interface is not a host endpoint interface"
        : hep.ifname !== "" && hep.ifname !== "*" && isWorkload(hep.ifname)
          ? `interface ${hep.ifname} is a workload interface`
          : undefined;
    result.heps.set(hep.key, { ifnames: [], ...(problem ? { problem } : {}) });
  }
  const star = heps.find((h) => h.ifname === "*");
  if (star) result.star = star.key;

  for (const iface of hostIfaces) {
    const addrs = addrsByIface.get(iface.ifname)!;
    const specific = heps.find((h) => {
      if (result.heps.get(h.key)!.problem) return false;
      if (h.ifname === iface.ifname) return true;
      if (h.ifname !== "") return false;
      return [...h.expectedIpv4Addrs, ...h.expectedIpv6Addrs].some((a) => {
        const want = addressOf(a);
        return want !== undefined && addrs.has(want);
      });
    });
    const owner = specific ?? star;
    if (!owner && !options.watchAll) continue;
    result.interfaces.set(iface.ifname, { ifname: iface.ifname, ethernet: iface.ethernet, ...(owner ? { hep: owner.key } : {}) });
    if (owner) result.heps.get(owner.key)!.ifnames.push(iface.ifname);
  }
  return result;
}

/**
 * The host's own addresses for the hostAddresses well-known set: every address of every
 * interface as a host address (/32, /128), and the loopback's prefixes whole (127.0.0.0/8).
 */
export function hostAddressCidrs(interfaces: readonly HostInterface[]): string[] {
  const out = new Set<string>();
  for (const iface of interfaces) {
    for (const text of iface.addrs) {
      const cidr = parseCidr(text);
      if (!cidr) continue;
      const slash = text.indexOf("/");
      const ip = parseIp(slash < 0 ? text : text.slice(0, slash))!;
      out.add(iface.ifname === "lo" ? formatCidr(cidr) : formatCidr({ family: ip.family, addr: ip.value, prefixLen: familyBits(ip.family) }));
    }
  }
  return [...out].sort();
}
