/**
 * Routes owned by ptables (route protocol ROUTE_PROTO), in the main table. Kept minimal: a
 * destination CIDR with an output interface and/or gateway, or a blackhole/throw route.
 */
import { PtablesError, ValidationError, errorMessage, type EntryError, type RouteKey, type RouteValue, type TableBackend } from "@ptables/api";
import { formatIpBytes, maskIpBytes, parseAnyIp } from "../codec/ip-bytes";
import { ROUTE_PROTO, ipBatch, ipJson } from "./ip-command";

const KINDS = new Set(["unicast", "blackhole", "throw"]);
/** rtnetlink protocol number of BIRD's routes (RTPROT_BIRD). */
const BIRD_PROTO = 12;
const IFNAME = /^[^\s/:]{1,15}$/;

/** "10.0.0.5" -> "10.0.0.5/32"; host bits cleared; IPv6 canonical. Undefined if not a CIDR. */
export function canonicalCidr(text: string): { cidr: string; family: 4 | 6 } | undefined {
  const [addr, len, ...rest] = String(text).split("/");
  if (rest.length > 0 || addr === undefined) return undefined;
  const ip = parseAnyIp(addr);
  if (!ip) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  const prefix = len === undefined ? max : Number(len);
  if (!/^\d+$/.test(len ?? String(max)) || prefix > max) return undefined;
  return { cidr: `${formatIpBytes(maskIpBytes(ip.bytes, prefix), ip.family)}/${prefix}`, family: ip.family };
}

interface IpRoute {
  dst: string;
  type?: string;
  gateway?: string;
  dev?: string;
  flags?: string[];
}

function routeCommand(op: "replace" | "del", key: RouteKey, value?: RouteValue): string {
  const where = `route ${String(key.dst)}`;
  const dst = canonicalCidr(key.dst);
  if (!dst) throw new ValidationError(where, "dst is not a CIDR");
  if (op === "del") return `route del ${dst.cidr} proto ${ROUTE_PROTO}`;
  const v = value!;
  if (!KINDS.has(v.kind)) throw new ValidationError(where, `kind "${String(v.kind)}" is not unicast, blackhole or throw`);
  if (v.kind !== "unicast") {
    if (v.ifname || v.via) throw new ValidationError(where, `a ${v.kind} route has no ifname or via`);
    return `route replace ${v.kind} ${dst.cidr} proto ${ROUTE_PROTO}`;
  }
  const parts = [`route replace ${dst.cidr}`];
  if (v.via) {
    const via = parseAnyIp(v.via);
    if (!via || via.family !== dst.family) throw new ValidationError(where, `via "${v.via}" is not an IPv${dst.family} address`);
    parts.push(`via ${formatIpBytes(via.bytes, via.family)}`);
  }
  if (v.ifname) {
    if (!IFNAME.test(v.ifname)) throw new ValidationError(where, `ifname "${v.ifname}" is not a valid interface name`);
    parts.push(`dev ${v.ifname}`);
  } else if (!v.via) {
    throw new ValidationError(where, "a unicast route needs an ifname or a via");
  }
  if (v.onlink) {
    if (!v.via || !v.ifname) throw new ValidationError(where, "onlink needs both via and ifname");
    parts.push("onlink");
  }
  parts.push(`proto ${ROUTE_PROTO}`);
  return parts.join(" ");
}

export class RoutesTable implements TableBackend<RouteKey, RouteValue> {
  readonly name = "routes";

  keyString(key: RouteKey): string {
    return canonicalCidr(key.dst)?.cidr ?? String(key.dst);
  }

  valueEquals(a: RouteValue, b: RouteValue): boolean {
    return a.ifname === b.ifname && a.via === b.via && a.kind === b.kind && a.onlink === b.onlink;
  }

  async loadAll(): Promise<Array<[RouteKey, RouteValue]>> {
    const out: Array<[RouteKey, RouteValue]> = [];
    for (const family of ["-4", "-6"]) {
      const routes = await ipJson<IpRoute>([family, "route", "show", "proto", String(ROUTE_PROTO)]);
      for (const r of routes) {
        const dst = canonicalCidr(r.dst === "default" ? (family === "-4" ? "0.0.0.0/0" : "::/0") : r.dst);
        if (!dst) continue;
        const kind = r.type ?? "unicast";
        out.push([
          { dst: dst.cidr },
          { ifname: kind === "unicast" ? (r.dev ?? "") : "", via: r.gateway ?? "", kind, onlink: (r.flags ?? []).includes("onlink") },
        ]);
      }
    }
    return out;
  }

  async applyBatch(upserts: Array<[RouteKey, RouteValue]>, deletes: RouteKey[]): Promise<EntryError[]> {
    // BIRD's routes are BIRD's: a destination BIRD already routes is never replaced.
    const bird = upserts.length > 0 ? await birdDestinations() : new Set<string>();
    return runBatch(
      upserts.map(([key, value]) => () => {
        const dst = canonicalCidr(key.dst)?.cidr;
        if (dst !== undefined && bird.has(dst)) throw new PtablesError(`route ${dst}: BIRD routes it (proto bird); ptables leaves BIRD's routes alone`);
        return routeCommand("replace", key, value);
      }),
      deletes.map((key) => () => routeCommand("del", key)),
      // Deleting a route that is not there: "No such process" (ESRCH).
      (message) => /No such process/.test(message),
    );
  }
}

/** Destinations of the routes BIRD (rtnetlink protocol "bird", 12) holds in the main table. */
async function birdDestinations(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const family of ["-4", "-6"]) {
    for (const r of await ipJson<IpRoute>([family, "route", "show", "proto", String(BIRD_PROTO)])) {
      const dst = canonicalCidr(r.dst === "default" ? (family === "-4" ? "0.0.0.0/0" : "::/0") : r.dst);
      if (dst) out.add(dst.cidr);
    }
  }
  return out;
}

/**
 * Builds each command (a builder that throws is that entry's error), runs them all in one
 * batch, and maps failures back to entries. `absentOk` recognises a delete of a missing entry.
 */
export async function runBatch(
  upserts: Array<() => string>,
  deletes: Array<() => string>,
  absentOk: (message: string) => boolean,
): Promise<EntryError[]> {
  const errors: EntryError[] = [];
  const commands: string[] = [];
  const origin: Array<{ op: "upsert" | "delete"; index: number }> = [];
  const add = (op: "upsert" | "delete", builders: Array<() => string>) =>
    builders.forEach((build, index) => {
      try {
        commands.push(build());
        origin.push({ op, index });
      } catch (err) {
        errors.push({ index, op, message: errorMessage(err) });
      }
    });
  add("upsert", upserts);
  add("delete", deletes);
  const failures = await ipBatch(commands);
  for (const [line, message] of failures) {
    const entry = origin[line];
    if (!entry) continue;
    if (entry.op === "delete" && absentOk(message)) continue;
    errors.push({ index: entry.index, op: entry.op, message: `${commands[line]}: ${message}` });
  }
  return errors;
}
