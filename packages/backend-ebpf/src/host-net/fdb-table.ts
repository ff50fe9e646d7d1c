/**
 * The VXLAN forwarding database of ptables' VXLAN devices: remote VTEP MAC -> the remote node's
 * address, permanent entries (`bridge fdb replace <mac> dev vxlan.calico dst <ip> self permanent`),
 * as Felix's VXLAN manager writes them. The devices are ptables' own (tunnels-table.ts), created
 * with learning off, so every permanent entry with a destination on them is ptables'; that is
 * how the readback recognises them. Writes go through one `bridge -force -batch -` per batch.
 */
import { ValidationError, fdbKeyString, fdbValueEquals, type EntryError, type FdbKey, type FdbValue, type TableBackend } from "@ptables/api";
import { formatIpBytes, parseAnyIp } from "../codec/ip-bytes";
import { formatMac, parseMac } from "../codec/config-codec";
import { runBatch, runJson, type HostSystem } from "./host-system";
import { TUNNEL_ALIAS_PREFIX } from "./tunnels-table";

const IFNAME = /^[^\s/:]{1,15}$/;

interface BridgeFdb {
  mac: string;
  dst?: string;
  state?: string;
  ifname?: string;
}

function canonicalKey(key: FdbKey): FdbKey {
  const where = `fdb ${String(key.ifname)}/${String(key.mac)}`;
  if (typeof key.ifname !== "string" || !IFNAME.test(key.ifname)) throw new ValidationError(where, "ifname is not a valid interface name");
  return { ifname: key.ifname, mac: formatMac(parseMac(where, key.mac)) };
}

function canonicalDst(key: FdbKey, value: FdbValue): string {
  const ip = typeof value.dst === "string" ? parseAnyIp(value.dst) : undefined;
  if (!ip) throw new ValidationError(`fdb ${key.ifname}/${key.mac}`, `dst "${String(value.dst)}" is not an IP address`);
  return formatIpBytes(ip.bytes, ip.family);
}

export class FdbTable implements TableBackend<FdbKey, FdbValue> {
  readonly name = "fdb";

  constructor(private readonly sys: HostSystem) {}

  keyString(key: FdbKey): string {
    return fdbKeyString(key);
  }

  valueEquals(a: FdbValue, b: FdbValue): boolean {
    return fdbValueEquals(a, b);
  }

  async loadAll(): Promise<Array<[FdbKey, FdbValue]>> {
    const links = await runJson<Array<{ ifname: string; ifalias?: string; linkinfo?: { info_kind?: string } }>>(this.sys, ["ip", "-j", "-d", "link", "show", "type", "vxlan"]);
    const out: Array<[FdbKey, FdbValue]> = [];
    for (const link of links) {
      if (!link.ifalias?.startsWith(TUNNEL_ALIAS_PREFIX)) continue;
      const entries = await runJson<BridgeFdb[]>(this.sys, ["bridge", "-j", "fdb", "show", "dev", link.ifname]);
      for (const e of entries) {
        if (!e.dst || e.state !== "permanent") continue;
        const ip = parseAnyIp(e.dst);
        if (!ip) continue;
        out.push([{ ifname: link.ifname, mac: e.mac.toLowerCase() }, { dst: formatIpBytes(ip.bytes, ip.family) }]);
      }
    }
    return out;
  }

  async applyBatch(upserts: Array<[FdbKey, FdbValue]>, deletes: FdbKey[]): Promise<EntryError[]> {
    const errors: EntryError[] = [];
    const commands: string[] = [];
    const origin: Array<{ op: "upsert" | "delete"; index: number }> = [];
    const add = (op: "upsert" | "delete", index: number, build: () => string) => {
      try {
        commands.push(build());
        origin.push({ op, index });
      } catch (err) {
        errors.push({ index, op, message: err instanceof Error ? err.message : String(err) });
      }
    };
    upserts.forEach(([key, value], i) =>
      add("upsert", i, () => {
        const k = canonicalKey(key);
        return `fdb replace ${k.mac} dev ${k.ifname} dst ${canonicalDst(k, value)} self permanent`;
      }),
    );
    deletes.forEach((key, i) =>
      add("delete", i, () => {
        const k = canonicalKey(key);
        return `fdb del ${k.mac} dev ${k.ifname} self`;
      }),
    );
    const failures = await runBatch(this.sys, "bridge", commands);
    for (const [line, message] of failures) {
      const entry = origin[line];
      if (!entry) continue;
      // Deleting an entry (or on a device) that is not there.
      if (entry.op === "delete" && /No such file or directory|Cannot find device|does not exist/.test(message)) continue;
      errors.push({ index: entry.index, op: entry.op, message: `${commands[line]}: ${message}` });
    }
    return errors;
  }
}
