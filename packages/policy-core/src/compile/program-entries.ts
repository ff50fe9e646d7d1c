/** The set-table entries a compiled program needs before its rules can be written. */
import { ValidationError, type PortSetKey, type SetMemberKey } from "@ptables/api";
import type { PolicyLookup } from "../lookup";
import { ipSetNumericId } from "./ids";
import type { CompiledProgram } from "./program";
import { ipSetMemberKeys, netSetMemberKeys, portSetKeys } from "./set-keys";

/** Members of every Felix IP set and synthetic net set, and the port-set entries, it refers to. */
export function programSetEntries(program: CompiledProgram, lookup: PolicyLookup): { members: SetMemberKey[]; ports: PortSetKey[] } {
  const members: SetMemberKey[] = [];
  for (const id of program.ipSetsUsed) {
    const set = lookup.ipSet(id);
    if (!set) throw new ValidationError(`ip set ${id}`, "is referenced by the program but not known");
    members.push(...ipSetMemberKeys(ipSetNumericId(id), set));
  }
  for (const [id, cidrs] of program.netSets) members.push(...netSetMemberKeys(id, cidrs));
  const ports: PortSetKey[] = [];
  for (const [id, ranges] of program.portSets) ports.push(...portSetKeys(id, ranges));
  return { members, ports };
}
