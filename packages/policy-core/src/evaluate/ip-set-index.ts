/**
 * IP set membership as the evaluator sees it: straight from the model's member strings, parsed
 * on first use during one evaluation (the model may change between evaluations).
 */
import type { Family } from "@ptables/api";
import { cidrContains } from "../net/ip-address";
import { parseIpSet, type ParsedIpSet } from "../net/ip-set-members";
import type { PolicyLookup } from "../lookup";
import { resolveSetReference } from "../rules/set-references";

export class IpSetIndex {
  private readonly parsed = new Map<string, ParsedIpSet>();

  constructor(private readonly lookup: PolicyLookup) {}

  private get(id: string, usage: "address" | "ip-port"): ParsedIpSet {
    let set = this.parsed.get(id);
    if (!set) {
      set = parseIpSet(resolveSetReference(this.lookup, id, usage, "rule", `ip set ${id}`));
      this.parsed.set(id, set);
    }
    return set;
  }

  /** NET/IP set: the address lies in any member prefix. */
  containsAddress(id: string, family: Family, addr: bigint): boolean {
    const set = this.get(id, "address");
    return set.kind === "net" && set.prefixes.some((p) => cidrContains(p, family, addr));
  }

  /** IP_AND_PORT set: (address, protocol, port) is exactly a member. */
  containsIpPort(id: string, family: Family, proto: number, port: number, addr: bigint): boolean {
    const set = this.get(id, "ip-port");
    return set.kind === "ip-port" && set.members.some((m) => m.family === family && m.addr === addr && m.proto === proto && m.port === port);
  }
}
