/**
 * Reads a RecordingBackend's tables the way the datapath does (endpoint -> program -> rules ->
 * sets) and checks the invariants every programmed state must hold, whatever slot a program is
 * in: no endpoint points at missing rules, no rule or set entry is left behind that nothing
 * reachable uses, every synthetic set a reachable rule uses has entries.
 */
import type { CompiledRule } from "@ptables/api";
import type { RecordingBackend } from "./recording-backend";

export interface EndpointView {
  flags: number;
  ingress: CompiledRule[];
  egress: CompiledRule[];
}

export interface DatapathView {
  endpoints: Map<string, EndpointView>;
  /** Set id -> sorted members as "addr/len" or "addr/len,proto:port". */
  sets: Map<number, string[]>;
  /** Port set id -> sorted "port/len". */
  portSets: Map<number, string[]>;
  /** Invariant violations; empty when the datapath is consistent. */
  problems: string[];
}

function memberText(k: { addr: string; prefixLen: number; proto: number; port: number }): string {
  return k.proto || k.port ? `${k.addr}/${k.prefixLen},${k.proto}:${k.port}` : `${k.addr}/${k.prefixLen}`;
}

function group<T>(entries: Array<[number, string]>): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const [id, text] of entries) {
    const list = out.get(id) ?? [];
    list.push(text);
    out.set(id, list);
  }
  for (const list of out.values()) list.sort();
  return out;
}

/** Set ids (Felix and synthetic) and port set ids a rule refers to. */
function ruleRefs(r: CompiledRule): { sets: number[]; ports: number[] } {
  const sets = [r.srcNet, r.notSrcNet, r.dstNet, r.notDstNet, ...r.srcSets, ...r.notSrcSets, ...r.dstSets, ...r.notDstSets];
  sets.push(...r.srcNamedPorts, ...r.notSrcNamedPorts, ...r.dstNamedPorts, ...r.notDstNamedPorts, ...r.dstIpPortSets);
  return { sets: sets.filter((x) => x !== 0), ports: [r.srcPorts, r.notSrcPorts, r.dstPorts, r.notDstPorts].filter((x) => x !== 0) };
}

/**
 * @param felixSetIds numeric ids of the Felix IP sets that should be in the datapath (they may
 *   legitimately be unused or empty); every other set entry must be used by a reachable rule.
 */
export function viewDatapath(backend: RecordingBackend, felixSetIds: Set<number>): DatapathView {
  const t = backend.tables;
  const problems: string[] = [];
  const rules = new Map<string, CompiledRule>();
  for (const [k, v] of t.rules.entries.values()) rules.set(`${k.programId}/${k.index}`, v);
  const reachable = new Set<string>();
  const usedSets = new Set<number>();
  const usedPorts = new Set<number>();
  const endpoints = new Map<string, EndpointView>();

  const follow = (ifname: string, dir: string, programId: number, length: number): CompiledRule[] => {
    const out: CompiledRule[] = [];
    for (let i = 0; i < length; i++) {
      const r = rules.get(`${programId}/${i}`);
      if (!r) {
        problems.push(`${ifname} ${dir}: rule ${programId}/${i} is missing`);
        continue;
      }
      reachable.add(`${programId}/${i}`);
      const refs = ruleRefs(r);
      refs.sets.forEach((s) => usedSets.add(s));
      refs.ports.forEach((p) => usedPorts.add(p));
      out.push(r);
    }
    return out;
  };
  for (const [k, v] of t.endpoints.entries.values()) {
    endpoints.set(k.ifname, {
      flags: v.flags,
      ingress: follow(k.ifname, "ingress", v.ingressProgram, v.ingressLength),
      egress: follow(k.ifname, "egress", v.egressProgram, v.egressLength),
    });
  }
  for (const key of rules.keys()) if (!reachable.has(key)) problems.push(`rule ${key} is not reachable from any endpoint`);

  const sets = group([...t.setMembers.entries.values()].map(([k]) => [k.setId, memberText(k)] as [number, string]));
  const portSets = group([...t.portSets.entries.values()].map(([k]) => [k.setId, `${k.port}/${k.prefixLen}`] as [number, string]));
  for (const id of sets.keys()) if (!felixSetIds.has(id) && !usedSets.has(id)) problems.push(`set ${id} has entries but nothing uses it`);
  for (const id of portSets.keys()) if (!usedPorts.has(id)) problems.push(`port set ${id} has entries but nothing uses it`);
  for (const id of usedPorts) if (!portSets.has(id)) problems.push(`port set ${id} is used but has no entries`);
  // Synthetic NET sets (high bit set) always have at least one member; Felix sets may be empty.
  for (const id of usedSets) if (id >= 0x80000000 && !sets.has(id)) problems.push(`net set ${id} is used but has no entries`);
  return { endpoints, sets, portSets, problems };
}
