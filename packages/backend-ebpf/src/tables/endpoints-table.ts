/**
 * The endpoints table: pt_endpoints (ifindex -> programs) plus ptables' tc filters on the
 * interface. The table is keyed by interface name; the map by ifindex, resolved at write time.
 * A workload entry gets the workload programs (pt_prog_from_ep / pt_prog_to_ep), a host entry
 * (EndpointFlags.HostEndpoint) the host programs (pt_prog_from_host / pt_prog_to_host).
 *
 * Fail closed: an upsert writes the map entry before attaching the filters, and a workload
 * delete removes the entry but leaves the filters, so the interface then drops everything
 * (NoEndpoint) until it is programmed again or goes away (the kernel removes its filters with
 * it). A host interface without an entry passes everything, so deleting a host entry also
 * detaches its filters: the interface is left exactly as ptables found it.
 */
import { EndpointFlags, PtablesError, ValidationError, errorMessage, type EndpointKey, type EndpointValue, type EntryError, type TableBackend } from "@ptables/api";
import { decodeEndpoint, encodeEndpoint, endpointEquals } from "../codec/endpoint-codec";
import { ENDPOINT } from "../codec/layouts";
import type { DatapathPrograms, ProgramHandle } from "../datapath/datapath";
import type { BpfMap } from "../native/bpf-map";
import { TcHook, attachFilter, detachFilter, ensureClsact, ifindexToName, ifnameToIndex, queryFilter } from "../native/tc";

/**
 * Set by loadAll on an endpoint whose interface lacks ptables' current filters, so the value
 * differs from any desired value and a resync re-attaches them.
 */
export const ENDPOINT_FILTERS_MISSING = 0x80000000;

/** Key loadAll gives an entry whose interface no longer exists (":" never occurs in real names). */
export function staleEndpointName(ifindex: number): string {
  return `ifindex:${ifindex}`;
}

const STALE_NAME = /^ifindex:(\d+)$/;

export interface EndpointsContext {
  map(): BpfMap;
  /** The programs to attach; undefined for readers, which cannot attach. */
  programs(): DatapathPrograms | undefined;
  maxRulesPerProgram: number;
}

function checkIfname(ifname: unknown): string {
  if (typeof ifname !== "string" || ifname.length === 0 || ifname.length > 15 || /[\s/:]/.test(ifname)) {
    throw new ValidationError(`endpoint ${String(ifname)}`, "ifname is not a valid interface name (1-15 characters, no whitespace, '/' or ':')");
  }
  return ifname;
}

/** Whether an entry's flags make it a host interface. */
export function isHostEntry(flags: number): boolean {
  return (flags & EndpointFlags.HostEndpoint) !== 0;
}

/** The programs an entry with `flags` runs: [tc ingress, tc egress]. */
export function entryPrograms(flags: number, programs: DatapathPrograms): [ProgramHandle, ProgramHandle] {
  return isHostEntry(flags) ? [programs.fromHost, programs.toHost] : [programs.fromEp, programs.toEp];
}

/** Whether both of ptables' filters on `ifindex` run the programs an entry with `flags` needs. */
export function filtersCurrent(ifindex: number, ifname: string, programs: DatapathPrograms, flags = 0): boolean {
  const [ingress, egress] = entryPrograms(flags, programs);
  return queryFilter(ifindex, ifname, TcHook.Ingress) === ingress.id && queryFilter(ifindex, ifname, TcHook.Egress) === egress.id;
}

/** Creates clsact if needed and attaches (or replaces) both filters unless they are current. */
export function ensureFilters(ifindex: number, ifname: string, programs: DatapathPrograms, flags = 0): void {
  const [ingress, egress] = entryPrograms(flags, programs);
  ensureClsact(ifindex, ifname);
  if (queryFilter(ifindex, ifname, TcHook.Ingress) !== ingress.id) attachFilter(ifindex, ifname, TcHook.Ingress, ingress.fd);
  if (queryFilter(ifindex, ifname, TcHook.Egress) !== egress.id) attachFilter(ifindex, ifname, TcHook.Egress, egress.fd);
}

export class EndpointsTable implements TableBackend<EndpointKey, EndpointValue> {
  readonly name = "endpoints";
  /** Last known ifindex per name, so an endpoint can be deleted after its link has gone. */
  private readonly indexByName = new Map<string, number>();

  constructor(private readonly ctx: EndpointsContext) {}

  keyString(key: EndpointKey): string {
    return key.ifname;
  }

  valueEquals(a: EndpointValue, b: EndpointValue): boolean {
    return endpointEquals(a, b);
  }

  async loadAll(): Promise<Array<[EndpointKey, EndpointValue]>> {
    const programs = this.ctx.programs();
    const out: Array<[EndpointKey, EndpointValue]> = [];
    for (const [key, value] of this.ctx.map().entries()) {
      const ifindex = key.readUInt32LE(0);
      const decoded = decodeEndpoint(value);
      const ifname = ifindexToName(ifindex);
      if (ifname === undefined) {
        out.push([{ ifname: staleEndpointName(ifindex) }, decoded]);
        continue;
      }
      this.indexByName.set(ifname, ifindex);
      if (programs && !filtersCurrent(ifindex, ifname, programs, decoded.flags)) decoded.flags = (decoded.flags | ENDPOINT_FILTERS_MISSING) >>> 0;
      out.push([{ ifname }, decoded]);
    }
    return out;
  }

  async applyBatch(upserts: Array<[EndpointKey, EndpointValue]>, deletes: EndpointKey[]): Promise<EntryError[]> {
    const map = this.ctx.map();
    const errors: EntryError[] = [];
    upserts.forEach(([key, value], index) => {
      try {
        this.upsert(map, key, value);
      } catch (err) {
        errors.push({ index, op: "upsert", message: errorMessage(err) });
      }
    });
    deletes.forEach((key, index) => {
      try {
        this.delete(map, key);
      } catch (err) {
        errors.push({ index, op: "delete", message: errorMessage(err) });
      }
    });
    return errors;
  }

  private upsert(map: BpfMap, key: EndpointKey, value: EndpointValue): void {
    const ifname = checkIfname(key.ifname);
    const where = `endpoint ${ifname}`;
    const encoded = Buffer.alloc(ENDPOINT.size);
    encodeEndpoint(value, encoded, 0, where, this.ctx.maxRulesPerProgram);
    const programs = this.ctx.programs();
    if (!programs) throw new PtablesError(`${where}: attaching filters needs the owner role (this backend opened the maps as a reader)`);
    const ifindex = ifnameToIndex(ifname);
    if (ifindex === undefined) throw new PtablesError(`${where}: interface ${ifname} does not exist`);
    const mapKey = Buffer.alloc(4);
    mapKey.writeUInt32LE(ifindex);
    const previous = Buffer.alloc(ENDPOINT.size);
    const hadPrevious = map.lookup(mapKey, previous);
    map.update(mapKey, encoded);
    try {
      ensureFilters(ifindex, ifname, programs, value.flags);
    } catch (err) {
      // Leave the map as it was, so a retry starts from the same state.
      if (hadPrevious) map.update(mapKey, previous);
      else map.delete(mapKey);
      throw err;
    }
    this.indexByName.set(ifname, ifindex);
  }

  private delete(map: BpfMap, key: EndpointKey): void {
    const stale = STALE_NAME.exec(String(key.ifname));
    const mapKey = Buffer.alloc(4);
    if (stale) {
      mapKey.writeUInt32LE(Number(stale[1]));
      map.delete(mapKey);
      return;
    }
    const ifname = checkIfname(key.ifname);
    const current = ifnameToIndex(ifname);
    const known = this.indexByName.get(ifname);
    const value = Buffer.alloc(ENDPOINT.size);
    for (const ifindex of new Set([current, known])) {
      if (ifindex === undefined) continue;
      const nameNow = ifindexToName(ifindex);
      if (nameNow !== undefined && nameNow !== ifname) continue; // the index now belongs to another link
      mapKey.writeUInt32LE(ifindex);
      const host = map.lookup(mapKey, value) && isHostEntry(decodeEndpoint(value).flags);
      map.delete(mapKey);
      if (host && nameNow !== undefined) {
        detachFilter(ifindex, ifname, TcHook.Ingress);
        detachFilter(ifindex, ifname, TcHook.Egress);
      }
    }
    this.indexByName.delete(ifname);
  }
}
