/**
 * HostNetwork for a Linux node (the eBPF/tc backend forwards through the host kernel): tunnel
 * devices, the VXLAN FDB and NAT outgoing as tables, and per-interface sysctls. Acts on the
 * network namespace the process runs in. See docs/host-mode.md.
 */
import { PtablesError, type HostNetwork, type Sysctl } from "@ptables/api";
import { FdbTable } from "./fdb-table";
import { localHostSystem, type HostSystem } from "./host-system";
import { NatOutgoingTable } from "./nat-table";
import { TunnelsTable } from "./tunnels-table";

const SYSCTL_PATH = /^net\/(ipv4|ipv6)\/(conf|neigh)\/[^\s/:]{1,15}\/[a-z_]+$/;

export class LinuxHostNetwork implements HostNetwork {
  readonly tunnels: TunnelsTable;
  readonly fdb: FdbTable;
  readonly natOutgoing: NatOutgoingTable;

  constructor(private readonly sys: HostSystem = localHostSystem) {
    this.tunnels = new TunnelsTable(sys);
    this.fdb = new FdbTable(sys);
    this.natOutgoing = new NatOutgoingTable(sys);
  }

  async setSysctls(settings: Sysctl[], optional: (s: Sysctl) => boolean = () => false): Promise<number> {
    let written = 0;
    for (const s of settings) {
      if (!SYSCTL_PATH.test(s.path) || !/^\d+$/.test(s.value)) throw new PtablesError(`sysctl ${s.path}=${s.value}: not a per-interface network setting`);
      const file = `/proc/sys/${s.path}`;
      const current = await this.sys.readFile(file);
      if (current === undefined) {
        if (optional(s)) continue;
        throw new PtablesError(`sysctl ${s.path.replace(/\//g, ".")}: does not exist (is the interface there?)`);
      }
      if (current.trim() === s.value) continue;
      try {
        await this.sys.writeFile(file, s.value);
      } catch (err) {
        throw new PtablesError(`sysctl ${s.path.replace(/\//g, ".")}=${s.value}: ${(err as Error).message}`);
      }
      written++;
    }
    return written;
  }

  async defaultRpFilter(): Promise<string> {
    const value = (await this.sys.readFile("/proc/sys/net/ipv4/conf/default/rp_filter"))?.trim();
    // Felix's fallback when the default cannot be read: strict.
    return value && /^[012]$/.test(value) ? value : "1";
  }

  /** Removes every ptables NAT table and tunnel device (FDB entries, neighbours and routes on a device go with it). */
  async cleanup(): Promise<void> {
    const errors: string[] = [];
    const nat = await this.natOutgoing.loadAll();
    errors.push(...(await this.natOutgoing.applyBatch([], nat.map(([k]) => k))).map((e) => e.message));
    const tunnels = await this.tunnels.loadAll();
    errors.push(...(await this.tunnels.applyBatch([], tunnels.map(([k]) => k))).map((e) => e.message));
    if (errors.length > 0) throw new PtablesError(`host network cleanup: ${errors.join("; ")}`);
  }
}
