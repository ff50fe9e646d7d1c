/**
 * Test support (not built into dist): Felix messages built with the generated code, and a
 * Felix stand-in that writes frames and reads the replies.
 */
import { FrameReader, encodeFrame } from "@ptables/felix";
import { felix } from "@ptables/proto";

type Payload = NonNullable<felix.ToDataplane["payload"]>;
type DeepPartialPayload = Parameters<typeof felix.ToDataplane.fromPartial>[0]["payload"];

let seq = 0n;

/** One ToDataplane envelope from a partial payload. */
export function toDataplane(payload: DeepPartialPayload): felix.ToDataplane {
  return felix.ToDataplane.fromPartial({ sequenceNumber: seq++, payload });
}

export function frameOf(msg: felix.ToDataplane): Buffer {
  return encodeFrame(felix.ToDataplane.encode(msg).finish());
}

export const POD1_ID: felix.WorkloadEndpointID = { orchestratorId: "k8s", workloadId: "default/pod1", endpointId: "eth0" };
export const POD1_KEY = "k8s/default/pod1/eth0";

export function configUpdate(config: Record<string, string> = {}): felix.ToDataplane {
  return toDataplane({ $case: "configUpdate", value: { config: { InterfacePrefix: "cali", ...config } } });
}

export function ipSetUpdate(id: string, members: string[]): felix.ToDataplane {
  return toDataplane({ $case: "ipsetUpdate", value: { id, members, type: felix.IPSetUpdate_IPSetType.NET } });
}

export function allowFromSetPolicy(name: string, setId: string): felix.ToDataplane {
  return toDataplane({
    $case: "activePolicyUpdate",
    value: {
      id: { name, namespace: "", kind: "GlobalNetworkPolicy" },
      policy: { tier: "default", inboundRules: [{ action: "allow", srcIpSetIds: [setId], ruleId: "r1" }], outboundRules: [{ action: "allow", ruleId: "r2" }] },
    },
  });
}

export function profileUpdate(name: string): felix.ToDataplane {
  return toDataplane({ $case: "activeProfileUpdate", value: { id: { name }, profile: { inboundRules: [], outboundRules: [{ action: "allow" }] } } });
}

export function workloadEndpointUpdate(opts: { id?: felix.WorkloadEndpointID; policy: string; profile: string; state?: string; mac?: string; name?: string }): felix.ToDataplane {
  return toDataplane({
    $case: "workloadEndpointUpdate",
    value: {
      id: opts.id ?? POD1_ID,
      endpoint: {
        state: opts.state ?? "active",
        name: opts.name ?? "cali12345",
        mac: opts.mac ?? "ee:ee:ee:ee:ee:ee",
        ipv4Nets: ["10.65.0.2/32"],
        profileIds: [opts.profile],
        tiers: [{ name: "default", ingressPolicies: [{ name: opts.policy, kind: "GlobalNetworkPolicy" }], egressPolicies: [], defaultAction: "Deny" }],
      },
    },
  });
}

export function workloadEndpointRemove(id: felix.WorkloadEndpointID = POD1_ID): felix.ToDataplane {
  return toDataplane({ $case: "workloadEndpointRemove", value: { id } });
}

export function inSync(): felix.ToDataplane {
  return toDataplane({ $case: "inSync", value: {} });
}

/** The usual start of day: config, a set, a policy using it, a profile, an endpoint, InSync. */
export function startOfDay(): felix.ToDataplane[] {
  return [
    configUpdate({ ReportingIntervalSecs: "30" }),
    ipSetUpdate("s:web", ["10.65.0.0/24"]),
    allowFromSetPolicy("allow-web", "s:web"),
    profileUpdate("kns.default"),
    workloadEndpointUpdate({ policy: "allow-web", profile: "kns.default" }),
    inSync(),
  ];
}

/** Collects FromDataplane frames from a byte stream. */
export class FromDataplaneCollector {
  readonly messages: felix.FromDataplane[] = [];
  private readonly reader = new FrameReader();

  push(chunk: Buffer): void {
    for (const f of this.reader.push(chunk)) this.messages.push(felix.FromDataplane.decode(f.bytes));
  }

  of<C extends NonNullable<felix.FromDataplane["payload"]>["$case"]>(kind: C): Array<Extract<NonNullable<felix.FromDataplane["payload"]>, { $case: C }>["value"]> {
    return this.messages.filter((m) => m.payload?.$case === kind).map((m) => m.payload!.value as never);
  }
}

export type { Payload };
