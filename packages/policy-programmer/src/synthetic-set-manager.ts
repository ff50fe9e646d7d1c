/**
 * The sets the compiler makes up: a rule's CIDR list becomes a NET set in setMembers, its port
 * ranges a port set in portSets. Their ids are hashes of their content, so programs with the
 * same list share one set. Sets are reference-counted over live programs: written when the
 * first program that uses them is prepared (the upsert order puts them before its rules) and
 * deleted when the last one is retired (the delete order puts them after its rules).
 */
import { errorMessage, type CachingTable, type PortRange, type PortSetKey, type Present, type SetMemberKey } from "@ptables/api";
import type { CompiledProgram, PolicyCompiler } from "./compiler";
import type { IdRegistry } from "./id-registry";

interface SharedSet<K> {
  /** Canonical content, to tell a shared set from a hash collision. */
  content: string;
  keys: K[];
  refs: number;
}

/** The synthetic sets a program holds references to. */
export interface SyntheticRefs {
  net: number[];
  port: number[];
}

function netContent(cidrs: string[]): string {
  return [...cidrs].sort().join(",");
}

function portContent(ranges: PortRange[]): string {
  return ranges
    .map((r) => `${r.first}-${r.last}`)
    .sort()
    .join(",");
}

export class SyntheticSetManager {
  private readonly net = new Map<number, SharedSet<SetMemberKey>>();
  private readonly port = new Map<number, SharedSet<PortSetKey>>();
  /** Keys computed by check() for sets not yet held, used by the acquire() that follows. */
  private readonly prepared = new Map<string, SetMemberKey[] | PortSetKey[]>();

  constructor(
    private readonly members: CachingTable<SetMemberKey, Present>,
    private readonly portSets: CachingTable<PortSetKey, Present>,
    /** Shared with the IP set manager: NET sets and Felix sets live in one id space. */
    private readonly setIds: IdRegistry,
    private readonly compiler: PolicyCompiler,
  ) {}

  /**
   * Why these programs' synthetic sets cannot be held (an id already used by other content, or
   * content the compiler cannot encode); undefined if they can. Changes nothing in the tables;
   * the keys it computes are kept for the acquire() calls that follow (see discardPrepared()).
   */
  check(programs: CompiledProgram[]): string | undefined {
    const seen = new Map<string, string>();
    for (const program of programs) {
      for (const [id, cidrs] of program.netSets) {
        const content = netContent(cidrs);
        const earlier = seen.get(`n${id}`) ?? this.net.get(id)?.content;
        if (earlier !== undefined) {
          if (earlier !== content) return `net set id ${id} is already used by a different CIDR list (${earlier})`;
          continue;
        }
        const holder = this.setIds.holder(id);
        if (holder !== undefined && holder !== `net set ${content}`) return `net set id ${id} is already used by ${holder}`;
        try {
          this.prepared.set(`n${id}`, this.compiler.netSetMemberKeys(id, cidrs));
        } catch (err) {
          return `net set ${id} (${content}): ${errorMessage(err)}`;
        }
        seen.set(`n${id}`, content);
      }
      for (const [id, ranges] of program.portSets) {
        const content = portContent(ranges);
        const earlier = seen.get(`p${id}`) ?? this.port.get(id)?.content;
        if (earlier !== undefined) {
          if (earlier !== content) return `port set id ${id} is already used by different port ranges (${earlier})`;
          continue;
        }
        try {
          this.prepared.set(`p${id}`, this.compiler.portSetKeys(id, ranges));
        } catch (err) {
          return `port set ${id} (${content}): ${errorMessage(err)}`;
        }
        seen.set(`p${id}`, content);
      }
    }
    return undefined;
  }

  /** Takes references for a program that passed check(). */
  acquire(program: CompiledProgram): SyntheticRefs {
    const refs: SyntheticRefs = { net: [], port: [] };
    for (const [id, cidrs] of program.netSets) {
      let held = this.net.get(id);
      if (!held) {
        const content = netContent(cidrs);
        const keys = (this.prepared.get(`n${id}`) as SetMemberKey[] | undefined) ?? this.compiler.netSetMemberKeys(id, cidrs);
        held = { content, keys, refs: 0 };
        this.net.set(id, held);
        this.setIds.claim(id, `net set ${content}`);
        for (const k of keys) this.members.setDesired(k, true);
      }
      held.refs++;
      refs.net.push(id);
    }
    for (const [id, ranges] of program.portSets) {
      let held = this.port.get(id);
      if (!held) {
        const keys = (this.prepared.get(`p${id}`) as PortSetKey[] | undefined) ?? this.compiler.portSetKeys(id, ranges);
        held = { content: portContent(ranges), keys, refs: 0 };
        this.port.set(id, held);
        for (const k of keys) this.portSets.setDesired(k, true);
      }
      held.refs++;
      refs.port.push(id);
    }
    return refs;
  }

  /** Drops a program's references; sets nobody uses any more are deleted. */
  release(refs: SyntheticRefs): void {
    for (const id of refs.net) {
      const held = this.net.get(id);
      if (!held || --held.refs > 0) continue;
      this.net.delete(id);
      this.setIds.release(id, `net set ${held.content}`);
      for (const k of held.keys) this.members.deleteDesired(k);
    }
    for (const id of refs.port) {
      const held = this.port.get(id);
      if (!held || --held.refs > 0) continue;
      this.port.delete(id);
      for (const k of held.keys) this.portSets.deleteDesired(k);
    }
  }

  /** Forgets the keys the last check() prepared (called once its programs are placed). */
  discardPrepared(): void {
    this.prepared.clear();
  }

  get counts(): { netSets: number; portSets: number } {
    return { netSets: this.net.size, portSets: this.port.size };
  }
}
