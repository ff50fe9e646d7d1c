/**
 * How the evaluator and the compiler see the model: by key, one object at a time, so callers
 * can back it with whatever store they keep (the programmer's desired state, a test fixture).
 */
import { ValidationError, policyKey, type IpSet, type Policy, type Profile } from "@ptables/api";

export interface PolicyLookup {
  /** A policy by its key (see policyKey in @ptables/api). */
  policy(key: string): Policy | undefined;
  profile(id: string): Profile | undefined;
  ipSet(id: string): IpSet | undefined;
}

/** Builds a PolicyLookup over plain lists; a policy without an id is a ValidationError. */
export function createModelLookup(model: { policies?: Policy[]; profiles?: Profile[]; ipSets?: IpSet[] }): PolicyLookup {
  const policies = new Map<string, Policy>();
  (model.policies ?? []).forEach((p, i) => {
    if (!p.id) throw new ValidationError(`policy ${i}`, "has no id");
    policies.set(policyKey(p.id), p);
  });
  const profiles = new Map((model.profiles ?? []).map((p) => [p.id, p] as const));
  const ipSets = new Map((model.ipSets ?? []).map((s) => [s.id, s] as const));
  return {
    policy: (key) => policies.get(key),
    profile: (id) => profiles.get(id),
    ipSet: (id) => ipSets.get(id),
  };
}
