/**
 * Program groups: the programs one endpoint entry points at, grouped the way the ProgramManager
 * keeps them (two directions, two slots each). Every entry has its interface's "normal" group;
 * a host interface also has its untracked, pre-DNAT and forward groups, and a workload of a
 * backend with host endpoints its to-host group (DefaultEndpointToHostAction). Hook groups are
 * named with policy-core's hostHookProgramName ("eth0#untracked"), so their program ids are
 * stable hashes like every other id.
 *
 * Where an entry's field comes from:
 *   normal     ingress -> ingressProgram/ingressLength   egress -> egressProgram/egressLength
 *   untracked  ingress -> untrackedIngress               egress -> untrackedEgress
 *   pre-dnat   ingress -> preDnatIngress                 egress -> (always empty)
 *   forward    ingress -> forwardIngress                 egress -> forwardEgress
 *   to-host    ingress -> (always empty)                 egress -> toHost
 * An empty program is written as program 0, length 0 (absent), so an entry read back after a
 * restart says exactly which directions have programs.
 */
import { EndpointFlags, type EndpointHook, type EndpointValue, type ProgramRef } from "@ptables/api";
import { hostHookProgramName } from "@ptables/policy-core";
import type { Direction } from "./compiler";
import type { GroupRefs, Program } from "./program-manager";

export type GroupHook = "normal" | "untracked" | "pre-dnat" | "forward" | "to-host";

export interface ProgramGroup {
  /** The ProgramManager name of the group. */
  name: string;
  hook: GroupHook;
}

export const HOST_GROUP_HOOKS: readonly GroupHook[] = ["normal", "untracked", "pre-dnat", "forward"];

/** Which EndpointValue hook each group direction fills ("normal" fills the top-level fields). */
const FIELDS: Record<Exclude<GroupHook, "normal">, Record<Direction, EndpointHook | undefined>> = {
  untracked: { ingress: "untrackedIngress", egress: "untrackedEgress" },
  "pre-dnat": { ingress: "preDnatIngress", egress: undefined },
  forward: { ingress: "forwardIngress", egress: "forwardEgress" },
  "to-host": { ingress: undefined, egress: "toHost" },
};

export function groupOf(ifname: string, hook: GroupHook): ProgramGroup {
  return { name: hostHookProgramName(ifname, hook), hook };
}

/** The groups of a host interface's entry. */
export function hostGroups(ifname: string): ProgramGroup[] {
  return HOST_GROUP_HOOKS.map((hook) => groupOf(ifname, hook));
}

/** The groups of a workload's entry; the to-host group only where the backend enforces it. */
export function workloadGroups(ifname: string, toHost: boolean): ProgramGroup[] {
  return toHost ? [groupOf(ifname, "normal"), groupOf(ifname, "to-host")] : [groupOf(ifname, "normal")];
}

/** The groups an entry read back from the datapath uses (to adopt their programs). */
export function groupsOfValue(ifname: string, value: EndpointValue): ProgramGroup[] {
  if (value.flags & EndpointFlags.HostEndpoint) return hostGroups(ifname);
  return workloadGroups(ifname, value.toHost !== undefined);
}

/** Whether a direction of a group can hold a program at all. */
export function groupHasDirection(hook: GroupHook, dir: Direction): boolean {
  return hook === "normal" || FIELDS[hook][dir] !== undefined;
}

function refOf(p: Program | undefined): ProgramRef {
  return p && p.rules.length > 0 ? { program: p.id, length: p.rules.length } : { program: 0, length: 0 };
}

/** The entry pointing at each group's target programs. */
export function buildEndpointValue(groups: readonly ProgramGroup[], flags: number, target: (name: string, dir: Direction) => Program | undefined): EndpointValue {
  const value: EndpointValue = { ingressProgram: 0, egressProgram: 0, flags, ingressLength: 0, egressLength: 0 };
  for (const g of groups) {
    if (g.hook === "normal") {
      const ing = refOf(target(g.name, "ingress"));
      const eg = refOf(target(g.name, "egress"));
      value.ingressProgram = ing.program;
      value.ingressLength = ing.length;
      value.egressProgram = eg.program;
      value.egressLength = eg.length;
      continue;
    }
    for (const dir of ["ingress", "egress"] as const) {
      const field = FIELDS[g.hook][dir];
      if (field === undefined) continue;
      const ref = refOf(target(g.name, dir));
      if (ref.length > 0) value[field] = ref;
    }
  }
  return value;
}

/** What an entry refers to for one group (undefined where it has no program). */
export function groupRefs(value: EndpointValue, group: ProgramGroup): GroupRefs {
  if (group.hook === "normal") {
    return {
      ingress: value.ingressLength > 0 ? { program: value.ingressProgram, length: value.ingressLength } : undefined,
      egress: value.egressLength > 0 ? { program: value.egressProgram, length: value.egressLength } : undefined,
    };
  }
  const pick = (dir: Direction): ProgramRef | undefined => {
    const field = FIELDS[group.hook as Exclude<GroupHook, "normal">][dir];
    const ref = field === undefined ? undefined : value[field];
    return ref && ref.length > 0 ? ref : undefined;
  };
  return { ingress: pick("ingress"), egress: pick("egress") };
}
