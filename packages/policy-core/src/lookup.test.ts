import { ValidationError } from "@ptables/api";
import { createModelLookup, evaluatePolicy, type HostHook } from "./index";
import { hostEndpoint, ipSet, policy, profile, tcp, workload } from "./testing";

describe("createModelLookup", () => {
  test("finds policies by key, profiles and ip sets by id", () => {
    const p = policy("p", { kind: "NetworkPolicy", namespace: "ns" });
    const l = createModelLookup({ policies: [p], profiles: [profile("kns.ns")], ipSets: [ipSet("s:a", "net", [])] });
    expect(l.policy("NetworkPolicy/ns/p")).toBe(p);
    expect(l.policy("GlobalNetworkPolicy/ns/p")).toBeUndefined();
    expect(l.profile("kns.ns")?.id).toBe("kns.ns");
    expect(l.ipSet("s:a")?.id).toBe("s:a");
  });

  test("a policy without an id is a ValidationError naming its position", () => {
    expect(() => createModelLookup({ policies: [policy("a"), { ...policy("b"), id: undefined }] })).toThrow(new ValidationError("policy 1", "has no id"));
  });
});

describe("evaluatePolicy arguments", () => {
  const lookup = createModelLookup({});
  test("a bad direction or hook is a ValidationError, not a crash", () => {
    expect(() => evaluatePolicy(lookup, { kind: "workload", endpoint: workload() }, "up" as "ingress", tcp("10.0.0.1:1", "10.0.0.2:2"))).toThrow('direction: "up" is not ingress or egress');
    expect(() => evaluatePolicy(lookup, { kind: "host", endpoint: hostEndpoint(), hook: "raw" as HostHook }, "ingress", tcp("10.0.0.1:1", "10.0.0.2:2"))).toThrow(ValidationError);
  });
});
