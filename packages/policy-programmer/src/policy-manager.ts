/**
 * Policies and profiles: which IP sets each refers to (so an IP set that appears, disappears or
 * changes type recompiles exactly the endpoints that depend on it), and each one's status.
 *
 * A policy's status says whether the policy can be programmed on its own: it is compiled into a
 * probe endpoint that uses only that policy. This attributes errors to the object that causes
 * them (a rule with too many IP sets, a reference to an unknown set) instead of only to the
 * endpoints that use it. An endpoint whose combined program is too long is an endpoint error.
 */
import { model, sync } from "@ptables/proto";
import { errorMessage, isStagedKind, TierDefaultAction, type Capabilities, type Policy, type WorkloadEndpoint } from "@ptables/api";
import type { PolicyCompiler } from "./compiler";
import type { ModelStore } from "./model-store";
import { rulesIpSetIds } from "./references";
import { ReverseIndex } from "./reverse-index";
import type { StatusBook } from "./status-book";

const Kind = sync.ObjectKind;
const State = sync.ObjectState;

export class PolicyManager {
  /** Policy key -> Felix IP set ids its rules use. */
  readonly policyIpSets = new ReverseIndex();
  /** Profile id -> Felix IP set ids its rules use. */
  readonly profileIpSets = new ReverseIndex();

  constructor(
    private readonly store: ModelStore,
    private readonly compiler: PolicyCompiler,
    private readonly caps: Capabilities,
    private readonly status: StatusBook,
  ) {}

  /** Refreshes references and statuses of the given policies and profiles. */
  resolve(policies: Iterable<string>, profiles: Iterable<string>): void {
    for (const key of policies) {
      const p = this.store.policy(key);
      this.policyIpSets.set(key, p ? rulesIpSetIds(p) : []);
      if (!p) this.status.remove(Kind.OBJECT_KIND_POLICY, key);
      else this.report(Kind.OBJECT_KIND_POLICY, key, this.probe(policyProbe(key, p)), isStagedKind(p.id?.kind ?? "") || p.staged);
    }
    for (const id of profiles) {
      const p = this.store.profile(id);
      this.profileIpSets.set(id, p ? rulesIpSetIds(p) : []);
      if (!p) this.status.remove(Kind.OBJECT_KIND_PROFILE, id);
      else this.report(Kind.OBJECT_KIND_PROFILE, id, this.probe(probeEndpoint([], [id])), false);
    }
  }

  private report(kind: sync.ObjectKind, id: string, problem: string | undefined, staged: boolean): void {
    if (problem !== undefined) this.status.set(kind, id, State.OBJECT_STATE_ERROR, problem);
    else this.status.set(kind, id, State.OBJECT_STATE_PROGRAMMED, staged ? "staged policy: recorded, never enforced" : "");
  }

  /** Compiles the probe in both directions; returns the compiler's complaint, if any. */
  private probe(ep: WorkloadEndpoint): string | undefined {
    try {
      for (const dir of ["ingress", "egress"] as const) {
        const p = this.compiler.compileWorkloadProgram(ep, dir, this.store, this.caps);
        if (p.rules.length > this.caps.maxRulesPerProgram) {
          return `${dir} rules compile to ${p.rules.length} datapath rules; the backend holds at most ${this.caps.maxRulesPerProgram} per program`;
        }
      }
      return undefined;
    } catch (err) {
      return errorMessage(err);
    }
  }
}

function policyProbe(key: string, p: Policy): WorkloadEndpoint {
  return probeEndpoint(
    [
      model.Tier.fromPartial({
        name: p.id?.tier || "default",
        ingressPolicies: [key],
        egressPolicies: [key],
        defaultAction: TierDefaultAction.TIER_DEFAULT_ACTION_DENY,
      }),
    ],
    [],
  );
}

/** An endpoint that exists only to compile one policy or profile on its own. */
function probeEndpoint(tiers: model.Tier[], profileIds: string[]): WorkloadEndpoint {
  return model.WorkloadEndpoint.fromPartial({ key: "ptables/probe/probe/probe", ifname: "ptprobe", adminUp: true, tiers, profileIds });
}
