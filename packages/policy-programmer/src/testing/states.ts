/**
 * Named desired states and what the datapath must look like in each, for the state-sequence
 * tests (Felix's calc-graph FV style: the harness applies states in many orders and checks the
 * output after each, so the expectations are about the state, never about the path to it).
 */
import { emptyDesiredState, type DesiredState, type Policy, type WorkloadEndpoint } from "@ptables/api";
import { testing } from "@ptables/policy-core";

const { allow, deny, ipSet, policy, profile, tier, workload, keyOf } = testing;

export type ProgramKind = "policy" | "admin-down" | "error";
export type StatusName = "PROGRAMMED" | "DOWN" | "ERROR";

export interface NamedState {
  name: string;
  state: DesiredState;
  /** Interface -> which program its entry must run (the compiled policy, or a fixed drop program). */
  endpoints: Record<string, ProgramKind>;
  /** Felix IP set -> its members as the datapath holds them ("addr/len" or "addr/len,proto:port"). */
  ipSets: Record<string, string[]>;
  /** Endpoint key -> status. */
  statuses: Record<string, StatusName>;
}

const kns = profile("kns.default", [allow()], [allow()]);
const TCP = 6;

const pWeb = policy("web", { inbound: [allow({ protocol: TCP, dstPorts: [{ first: 80, last: 80 }], srcIpSetIds: ["s-web"] })], outbound: [allow()] });
const pNets = policy("nets", {
  inbound: [deny({ srcNets: ["192.168.0.0/16", "172.16.0.0/12"] }), allow({ protocol: TCP, dstPorts: [{ first: 8080, last: 8090 }] })],
  outbound: [allow({ dstNets: ["10.0.0.0/8"] })],
});
/** Same CIDR list as pNets' deny rule: both programs share one synthetic set. */
const pNets2 = policy("nets2", { inbound: [deny({ srcNets: ["172.16.0.0/12", "192.168.0.0/16"] })], outbound: [] });
/** More rules than the test backend's 64 per program. */
const pBig = policy("big", { inbound: Array.from({ length: 70 }, (_, i) => allow({ protocol: TCP, dstPorts: [{ first: 1000 + i, last: 1000 + i }] })) });
/** Five source IP sets in one rule: one more than a rule can reference. */
const manySetIds = ["a1", "a2", "a3", "a4", "a5"];
const pManySets = policy("many-sets", { inbound: [allow({ srcIpSetIds: manySetIds })] });
const pNamedPort = policy("named-port", { inbound: [allow({ protocol: TCP, dstNamedPortIpSetIds: ["np-http"] })] });

function ep(n: number, policies: Policy[], init: Partial<WorkloadEndpoint> = {}): WorkloadEndpoint {
  return workload({
    key: `k8s/default/pod${n}/eth0`,
    workloadId: `default/pod${n}`,
    ifname: `cali${n}`,
    ipv4Nets: [`10.65.0.${n}/32`],
    tiers: policies.length ? [tier("default", { ingress: policies, egress: policies })] : [],
    profileIds: ["kns.default"],
    ...init,
  });
}

function state(parts: Partial<DesiredState>): DesiredState {
  return { ...emptyDesiredState(), profiles: [kns], ...parts };
}

const webSet = ipSet("s-web", "ip", ["10.0.1.1/32", "10.0.1.2/32"]);
const key = (n: number): string => `k8s/default/pod${n}/eth0`;

export const STATES: Record<string, NamedState> = {
  empty: { name: "empty", state: emptyDesiredState(), endpoints: {}, ipSets: {}, statuses: {} },
  profileOnly: {
    name: "profile only",
    state: state({ workloadEndpoints: [ep(1, [])] }),
    endpoints: { cali1: "policy" },
    ipSets: {},
    statuses: { [key(1)]: "PROGRAMMED" },
  },
  web: {
    name: "web policy on two endpoints",
    state: state({ ipSets: [webSet], policies: [pWeb], workloadEndpoints: [ep(1, [pWeb]), ep(2, [pWeb])] }),
    endpoints: { cali1: "policy", cali2: "policy" },
    ipSets: { "s-web": ["10.0.1.1/32", "10.0.1.2/32"] },
    statuses: { [key(1)]: "PROGRAMMED", [key(2)]: "PROGRAMMED" },
  },
  webMembersChanged: {
    name: "web set members changed",
    state: state({ ipSets: [ipSet("s-web", "ip", ["10.0.1.2/32", "10.0.1.3/32"])], policies: [pWeb], workloadEndpoints: [ep(1, [pWeb]), ep(2, [pWeb])] }),
    endpoints: { cali1: "policy", cali2: "policy" },
    ipSets: { "s-web": ["10.0.1.2/32", "10.0.1.3/32"] },
    statuses: { [key(1)]: "PROGRAMMED", [key(2)]: "PROGRAMMED" },
  },
  nets: {
    name: "CIDR and port policies sharing a net set",
    state: state({ policies: [pNets, pNets2], workloadEndpoints: [ep(1, [pNets]), ep(2, [pNets2])] }),
    endpoints: { cali1: "policy", cali2: "policy" },
    ipSets: {},
    statuses: { [key(1)]: "PROGRAMMED", [key(2)]: "PROGRAMMED" },
  },
  adminDown: {
    name: "one endpoint admin down",
    state: state({ ipSets: [webSet], policies: [pWeb], workloadEndpoints: [ep(1, [pWeb], { adminUp: false }), ep(2, [pWeb])] }),
    endpoints: { cali1: "admin-down", cali2: "policy" },
    ipSets: { "s-web": ["10.0.1.1/32", "10.0.1.2/32"] },
    statuses: { [key(1)]: "DOWN", [key(2)]: "PROGRAMMED" },
  },
  tooBig: {
    name: "one policy too big for the backend",
    state: state({ ipSets: [webSet], policies: [pWeb, pBig], workloadEndpoints: [ep(1, [pWeb]), ep(3, [pBig])] }),
    endpoints: { cali1: "policy", cali3: "error" },
    ipSets: { "s-web": ["10.0.1.1/32", "10.0.1.2/32"] },
    statuses: { [key(1)]: "PROGRAMMED", [key(3)]: "ERROR" },
  },
  tooManySets: {
    name: "a rule with five source IP sets",
    state: state({
      ipSets: manySetIds.map((id, i) => ipSet(id, "ip", [`10.0.3.${i + 1}/32`])),
      policies: [pManySets],
      workloadEndpoints: [ep(1, []), ep(2, [pManySets])],
    }),
    endpoints: { cali1: "policy", cali2: "error" },
    ipSets: Object.fromEntries(manySetIds.map((id, i) => [id, [`10.0.3.${i + 1}/32`]])),
    statuses: { [key(1)]: "PROGRAMMED", [key(2)]: "ERROR" },
  },
  namedPort: {
    name: "a named-port set",
    state: state({ ipSets: [ipSet("np-http", "ip-port", ["10.0.2.1,tcp:8080", "fd00::1,tcp:8080"])], policies: [pNamedPort], workloadEndpoints: [ep(4, [pNamedPort])] }),
    endpoints: { cali4: "policy" },
    ipSets: { "np-http": ["10.0.2.1/32,6:8080", "fd00::1/128,6:8080"] },
    statuses: { [key(4)]: "PROGRAMMED" },
  },
  danglingSet: {
    name: "a policy whose IP set is gone",
    state: state({ policies: [pWeb], workloadEndpoints: [ep(1, [pWeb]), ep(2, [])] }),
    endpoints: { cali1: "error", cali2: "policy" },
    ipSets: {},
    statuses: { [key(1)]: "ERROR", [key(2)]: "PROGRAMMED" },
  },
};

/** Sequences worth walking; the harness also walks each reversed and with empty states between. */
export const SEQUENCES: Array<Array<keyof typeof STATES>> = [
  ["profileOnly", "web", "webMembersChanged", "nets"],
  ["web", "adminDown", "web", "tooBig"],
  ["tooBig", "tooManySets", "profileOnly"],
  ["namedPort", "web", "nets", "adminDown"],
  // Asymmetric on purpose: the set disappears while a policy still refers to it.
  ["web", "danglingSet", "webMembersChanged"],
];

export { keyOf };
