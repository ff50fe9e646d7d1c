/**
 * Tunnel devices owned by ptables: vxlan.calico / vxlan-v6.calico (VXLAN) and tunl0 (IPIP).
 *
 * Ownership: a device ptables configured carries the link alias `ptables:<spec as JSON>`, so a
 * restarted agent (or `ptables cleanup`) finds exactly its own devices, and reads back the very
 * value it wrote. The readback also checks the live device against that spec (kind, VNI, port,
 * local address, MAC, MTU, up, tunnel address) and reports any difference in `drift`, so a
 * resync repairs a device someone changed, or whose parent's MTU changed.
 *
 * Writing follows Felix's VXLAN and IPIP managers: a device whose fixed parameters (kind, VNI,
 * port, local address) differ is deleted and recreated; otherwise MTU, MAC, address and state
 * are set in place. The parent device is the one holding `local` (the node's address from
 * HostMetadata). MTU 0 means the parent's MTU minus the encapsulation overhead (VXLAN over IPv4
 * 50, over IPv6 70, IPIP 20). The device keeps exactly one global address: the tunnel address.
 * An IPIP device is created as "remote any local any" (like the kernel's fallback tunl0);
 * `local` then only picks the parent whose MTU it derives from.
 */
import { ValidationError, errorMessage, tunnelKeyString, tunnelValueEquals, type EntryError, type TableBackend, type TunnelKey, type TunnelValue } from "@ptables/api";
import { formatIpBytes, parseAnyIp } from "../codec/ip-bytes";
import { formatMac, parseMac } from "../codec/config-codec";
import { runJson, runOk, type HostSystem } from "./host-system";

/** Start of the link alias that marks a device as ptables'. */
export const TUNNEL_ALIAS_PREFIX = "ptables:";
const IFNAME = /^[^\s/:]{1,15}$/;

interface IpLink {
  ifname: string;
  mtu: number;
  address?: string;
  flags?: string[];
  ifalias?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; port?: number; local?: string; local6?: string; link?: string } };
}

interface IpAddr {
  ifname: string;
  mtu: number;
  addr_info?: Array<{ family: string; local: string; prefixlen: number; scope: string }>;
}

/** Encapsulation overhead subtracted from the parent's MTU when the MTU is automatic. */
export function tunnelOverhead(value: Pick<TunnelValue, "kind" | "local">): number {
  if (value.kind === "ipip") return 20;
  return parseAnyIp(value.local)?.family === 6 ? 70 : 50;
}

/** The value as the alias stores it (no drift). */
function specOf(v: TunnelValue): TunnelValue {
  return { kind: v.kind, vni: v.vni, port: v.port, local: v.local, mtu: v.mtu, mac: v.mac.toLowerCase(), address: v.address };
}

function aliasOf(v: TunnelValue): string {
  return `${TUNNEL_ALIAS_PREFIX}${JSON.stringify(specOf(v))}`;
}

/** The spec a ptables alias holds, or undefined if it is not one (or unreadable). */
export function parseTunnelAlias(alias: string | undefined): TunnelValue | undefined {
  if (!alias?.startsWith(TUNNEL_ALIAS_PREFIX)) return undefined;
  try {
    const v = JSON.parse(alias.slice(TUNNEL_ALIAS_PREFIX.length)) as Partial<TunnelValue>;
    if ((v.kind !== "vxlan" && v.kind !== "ipip") || typeof v.vni !== "number" || typeof v.port !== "number" || typeof v.mtu !== "number") return undefined;
    if (typeof v.local !== "string" || typeof v.mac !== "string" || typeof v.address !== "string") return undefined;
    return specOf(v as TunnelValue);
  } catch {
    return undefined;
  }
}

/** Checks a value before anything is run; returns it canonical. */
export function checkTunnel(key: TunnelKey, value: TunnelValue): TunnelValue {
  const where = `tunnel ${String(key.ifname)}`;
  if (typeof key.ifname !== "string" || !IFNAME.test(key.ifname)) throw new ValidationError(where, "ifname is not a valid interface name");
  if (value.kind !== "vxlan" && value.kind !== "ipip") throw new ValidationError(where, `kind "${String(value.kind)}" is not vxlan or ipip`);
  const canon = (text: string, field: string): string => {
    if (text === "") return "";
    const ip = parseAnyIp(text);
    if (!ip) throw new ValidationError(where, `${field} "${text}" is not an IP address`);
    return formatIpBytes(ip.bytes, ip.family);
  };
  const out: TunnelValue = { ...specOf(value), local: canon(value.local, "local"), address: canon(value.address, "address") };
  if (value.kind === "vxlan") {
    if (!Number.isInteger(value.vni) || value.vni < 0 || value.vni > 0xffffff) throw new ValidationError(where, `vni ${value.vni} is not in 0..16777215`);
    if (!Number.isInteger(value.port) || value.port < 1 || value.port > 65535) throw new ValidationError(where, `port ${value.port} is not in 1..65535`);
    if (out.local === "") throw new ValidationError(where, "a VXLAN device needs the node's address (local)");
  } else if (value.vni !== 0 || value.port !== 0) {
    throw new ValidationError(where, "an IPIP device has no vni or port");
  }
  if (!Number.isInteger(value.mtu) || value.mtu < 0 || (value.mtu > 0 && value.mtu < 68) || value.mtu > 65535) {
    throw new ValidationError(where, `mtu ${value.mtu} is not 0 (automatic) or 68..65535`);
  }
  if (value.mac !== "") out.mac = formatMac(parseMac(where, value.mac));
  return out;
}

export class TunnelsTable implements TableBackend<TunnelKey, TunnelValue> {
  readonly name = "tunnels";

  constructor(private readonly sys: HostSystem) {}

  keyString(key: TunnelKey): string {
    return tunnelKeyString(key);
  }

  valueEquals(a: TunnelValue, b: TunnelValue): boolean {
    return tunnelValueEquals(a, b);
  }

  /** Every device with a ptables alias, as written, with `drift` if the live device differs. */
  async loadAll(): Promise<Array<[TunnelKey, TunnelValue]>> {
    const links = await runJson<IpLink[]>(this.sys, ["ip", "-j", "-d", "link", "show"]);
    const owned = links.filter((l) => l.ifalias?.startsWith(TUNNEL_ALIAS_PREFIX));
    if (owned.length === 0) return [];
    const addrs = await runJson<IpAddr[]>(this.sys, ["ip", "-j", "addr", "show"]);
    return owned.map((link): [TunnelKey, TunnelValue] => {
      const spec = parseTunnelAlias(link.ifalias);
      if (!spec) {
        // Ours by its mark but unreadable: an impossible value, so it is rewritten (or swept).
        return [{ ifname: link.ifname }, { kind: "vxlan", vni: 0, port: 0, local: "", mtu: 0, mac: "", address: "", drift: "unreadable ptables alias" }];
      }
      const drift = driftOf(spec, link, addrs);
      return [{ ifname: link.ifname }, drift ? { ...spec, drift } : spec];
    });
  }

  async applyBatch(upserts: Array<[TunnelKey, TunnelValue]>, deletes: TunnelKey[]): Promise<EntryError[]> {
    const errors: EntryError[] = [];
    for (const [index, [key, value]] of upserts.entries()) {
      try {
        await this.upsert(key, checkTunnel(key, value));
      } catch (err) {
        errors.push({ index, op: "upsert", message: errorMessage(err) });
      }
    }
    for (const [index, key] of deletes.entries()) {
      try {
        await this.remove(key.ifname);
      } catch (err) {
        errors.push({ index, op: "delete", message: errorMessage(err) });
      }
    }
    return errors;
  }

  private async link(ifname: string): Promise<IpLink | undefined> {
    const r = await this.sys.run(["ip", "-j", "-d", "link", "show", "dev", ifname]);
    if (r.code !== 0) {
      if (/does not exist|Cannot find device/.test(r.stderr)) return undefined;
      throw new Error(`ip link show dev ${ifname}: ${r.stderr.trim()}`);
    }
    return (JSON.parse(r.stdout) as IpLink[])[0];
  }

  private async remove(ifname: string): Promise<void> {
    if (!IFNAME.test(ifname)) throw new ValidationError(`tunnel ${ifname}`, "ifname is not a valid interface name");
    const r = await this.sys.run(["ip", "link", "del", "dev", ifname]);
    if (r.code === 0 || /does not exist|Cannot find device/.test(r.stderr)) return;
    throw new Error(`ip link del dev ${ifname}: ${r.stderr.trim()}`);
  }

  private async upsert(key: TunnelKey, value: TunnelValue): Promise<void> {
    const ip = (...args: string[]) => runOk(this.sys, ["ip", ...args]);
    const addrs = await runJson<IpAddr[]>(this.sys, ["ip", "-j", "addr", "show"]);
    const parent = value.local ? parentOf(value.local, addrs) : undefined;
    if (value.local && !parent) throw new Error(`no interface has the node's address ${value.local} (the tunnel's parent)`);
    let link = await this.link(key.ifname);
    if (link && !sameFixedParameters(value, link)) {
      await this.remove(key.ifname);
      link = undefined;
    }
    if (!link) {
      if (value.kind === "vxlan") {
        const mac = value.mac ? ["address", value.mac] : [];
        await ip("link", "add", key.ifname, ...mac, "type", "vxlan", "id", String(value.vni), "dstport", String(value.port), "local", value.local, "dev", parent!.ifname, "nolearning");
      } else {
        await ip("link", "add", key.ifname, "type", "ipip", "remote", "any", "local", "any");
      }
    }
    await ip("link", "set", "dev", key.ifname, "alias", aliasOf(value));
    const mtu = value.mtu || (parent ? parent.mtu - tunnelOverhead(value) : 0);
    if (mtu > 0) await ip("link", "set", "dev", key.ifname, "mtu", String(mtu));
    if (value.mac) await ip("link", "set", "dev", key.ifname, "address", value.mac);
    await ip("link", "set", "dev", key.ifname, "up");
    // Exactly one global address: the tunnel address (read now: a recreated device has none).
    const [current] = await runJson<IpAddr[]>(this.sys, ["ip", "-j", "addr", "show", "dev", key.ifname]);
    const have = (current?.addr_info ?? []).filter((a) => a.scope !== "link");
    for (const a of have) {
      if (a.local !== value.address) await ip("addr", "del", `${a.local}/${a.prefixlen}`, "dev", key.ifname);
    }
    if (value.address) {
      const v6 = value.address.includes(":");
      await ip("addr", "replace", `${value.address}/${v6 ? 128 : 32}`, "dev", key.ifname, ...(v6 ? ["nodad"] : []));
    }
  }
}

/** The interface holding `local`, with its MTU. */
function parentOf(local: string, addrs: IpAddr[]): IpAddr | undefined {
  return addrs.find((a) => (a.addr_info ?? []).some((i) => i.local === local));
}

function vxlanLocal(link: IpLink): string {
  const data = link.linkinfo?.info_data;
  const local = data?.local ?? data?.local6 ?? "";
  const ip = parseAnyIp(local);
  return ip ? formatIpBytes(ip.bytes, ip.family) : local;
}

/** Whether a live device can be kept (only MTU, MAC, alias, state and addresses need setting). */
function sameFixedParameters(value: TunnelValue, link: IpLink): boolean {
  const kind = link.linkinfo?.info_kind;
  if (kind !== value.kind) return false;
  if (value.kind === "ipip") return true;
  const data = link.linkinfo?.info_data;
  return data?.id === value.vni && data?.port === value.port && vxlanLocal(link) === value.local;
}

/** What differs between the spec ptables wrote and the live device ("" when nothing). */
function driftOf(spec: TunnelValue, link: IpLink, addrs: IpAddr[]): string {
  const out: string[] = [];
  if (!sameFixedParameters(spec, link)) out.push(`device is ${link.linkinfo?.info_kind ?? "?"} id ${link.linkinfo?.info_data?.id ?? "-"} port ${link.linkinfo?.info_data?.port ?? "-"} local ${vxlanLocal(link) || "-"}`);
  if (spec.mac && (link.address ?? "").toLowerCase() !== spec.mac) out.push(`mac ${link.address ?? "?"}`);
  if (!(link.flags ?? []).includes("UP")) out.push("down");
  const parent = spec.local ? parentOf(spec.local, addrs) : undefined;
  const wantMtu = spec.mtu || (parent ? parent.mtu - tunnelOverhead(spec) : 0);
  if (spec.local && !parent) out.push(`no interface has ${spec.local}`);
  if (wantMtu > 0 && link.mtu !== wantMtu) out.push(`mtu ${link.mtu}, want ${wantMtu}`);
  const global = (addrs.find((a) => a.ifname === link.ifname)?.addr_info ?? []).filter((a) => a.scope !== "link").map((a) => a.local);
  const wantAddrs = spec.address ? [spec.address] : [];
  if (global.length !== wantAddrs.length || !wantAddrs.every((a) => global.includes(a))) out.push(`addresses [${global.join(", ")}]`);
  return out.join("; ");
}
