/**
 * PERMANENT neighbour entries owned by ptables (protocol ROUTE_PROTO): the static ARP/NDP
 * entries Felix keeps for workloads so the host never has to resolve them.
 */
import { ValidationError, type EntryError, type NeighbourKey, type NeighbourValue, type TableBackend } from "@ptables/api";
import { formatIpBytes, parseAnyIp } from "../codec/ip-bytes";
import { formatMac, parseMac } from "../codec/config-codec";
import { ROUTE_PROTO, ipJson } from "./ip-command";
import { runBatch } from "./routes-table";

const IFNAME = /^[^\s/:]{1,15}$/;

interface IpNeigh {
  dst: string;
  dev: string;
  lladdr?: string;
}

function canonical(key: NeighbourKey): { ifname: string; ip: string } {
  const where = `neighbour ${String(key.ifname)}/${String(key.ip)}`;
  if (typeof key.ifname !== "string" || !IFNAME.test(key.ifname)) throw new ValidationError(where, "ifname is not a valid interface name");
  const ip = typeof key.ip === "string" ? parseAnyIp(key.ip) : undefined;
  if (!ip) throw new ValidationError(where, "ip is not an IP address");
  return { ifname: key.ifname, ip: formatIpBytes(ip.bytes, ip.family) };
}

export class NeighboursTable implements TableBackend<NeighbourKey, NeighbourValue> {
  readonly name = "neighbours";

  keyString(key: NeighbourKey): string {
    try {
      const k = canonical(key);
      return `${k.ifname}|${k.ip}`;
    } catch {
      return `${String(key.ifname)}|${String(key.ip)}`;
    }
  }

  valueEquals(a: NeighbourValue, b: NeighbourValue): boolean {
    return a.mac.toLowerCase() === b.mac.toLowerCase();
  }

  async loadAll(): Promise<Array<[NeighbourKey, NeighbourValue]>> {
    const out: Array<[NeighbourKey, NeighbourValue]> = [];
    for (const family of ["-4", "-6"]) {
      const entries = await ipJson<IpNeigh>([family, "neigh", "show", "nud", "permanent", "proto", String(ROUTE_PROTO)]);
      for (const n of entries) {
        if (!n.lladdr) continue;
        out.push([{ ifname: n.dev, ip: n.dst }, { mac: n.lladdr }]);
      }
    }
    return out;
  }

  async applyBatch(upserts: Array<[NeighbourKey, NeighbourValue]>, deletes: NeighbourKey[]): Promise<EntryError[]> {
    return runBatch(
      upserts.map(([key, value]) => () => {
        const k = canonical(key);
        const mac = formatMac(parseMac(`neighbour ${k.ifname}/${k.ip}`, value.mac));
        return `neigh replace ${k.ip} lladdr ${mac} dev ${k.ifname} nud permanent proto ${ROUTE_PROTO}`;
      }),
      deletes.map((key) => () => {
        const k = canonical(key);
        return `neigh del ${k.ip} dev ${k.ifname}`;
      }),
      // Deleting a neighbour (or on a link) that is not there.
      (message) => /No such file or directory|Cannot find device/.test(message),
    );
  }
}
