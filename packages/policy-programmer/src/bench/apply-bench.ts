/**
 * Apply cost at cluster scale over the reference DPU: the first snapshot, a resync by a fresh
 * programmer, a one-member IP-set delta and a policy change. Prints one JSON line per step with
 * writes per table and milliseconds. Run after a build:
 *
 *   node packages/policy-programmer/dist/bench/apply-bench.js [endpoints] [policies] [members-per-set]
 */
import { ReferenceDpuBackend } from "@ptables/backend-ref";
import { testing } from "@ptables/policy-core";
import { emptyDesiredState, type DesiredState, type Policy } from "@ptables/api";
import { Programmer } from "../programmer";

const { allow, deny, ipSet, policy, profile, tier, workload } = testing;

function scenario(endpoints: number, policies: number, membersPerSet: number): DesiredState {
  const sets = Array.from({ length: policies }, (_, i) =>
    ipSet(`s${i}`, "net", Array.from({ length: membersPerSet }, (_, m) => `10.${(i >> 8) & 255}.${i & 255}.${m & 255}/32`).slice(0, Math.min(membersPerSet, 256))),
  );
  const pols: Policy[] = Array.from({ length: policies }, (_, i) =>
    policy(`p${i}`, {
      inbound: [
        allow({ protocol: 6, dstPorts: [{ first: 80, last: 80 }], srcIpSetIds: [`s${i}`] }),
        deny({ srcNets: [`192.168.${i & 255}.0/24`] }),
        allow({ protocol: 17, dstPorts: [{ first: 5000 + (i % 50), last: 5100 + (i % 50) }] }),
      ],
      outbound: [allow({ dstIpSetIds: [`s${(i + 1) % policies}`] }), allow({ protocol: 17, dstPorts: [{ first: 53, last: 53 }] })],
    }),
  );
  const eps = Array.from({ length: endpoints }, (_, n) => {
    const mine = [pols[n % policies]!, pols[(n * 7 + 3) % policies]!, pols[(n * 13 + 5) % policies]!];
    return workload({
      key: `k8s/ns/pod${n}/eth0`,
      workloadId: `ns/pod${n}`,
      ifname: `cali${n.toString(16).padStart(8, "0")}`,
      ipv4Nets: [`10.200.${(n >> 8) & 255}.${n & 255}/32`],
      tiers: [tier("default", { ingress: mine, egress: mine })],
      profileIds: ["kns.ns"],
    });
  });
  return { ...emptyDesiredState(), ipSets: sets, policies: pols, profiles: [profile("kns.ns", [allow()], [allow()])], workloadEndpoints: eps };
}

async function main(): Promise<void> {
  const [endpoints, policies, members] = process.argv.slice(2).map(Number);
  const state = scenario(endpoints || 1000, policies || 200, members || 50);
  const backend = new ReferenceDpuBackend({ capabilities: { maxEndpoints: 100_000 } });
  const report = (step: string, p: Programmer): void => {
    const a = p.lastApply!;
    console.log(JSON.stringify({ step, writes: a.writes, byTable: a.writesByTable, ms: Math.round(a.durationMs * 10) / 10 }));
  };

  const p = new Programmer(backend);
  p.applySnapshot({ version: 1n, state, inSync: true });
  await p.apply();
  report(`first snapshot (${state.workloadEndpoints.length} endpoints, ${state.policies.length} policies)`, p);

  const fresh = new Programmer(backend);
  fresh.applySnapshot({ version: 1n, state, inSync: true });
  await fresh.apply();
  report("resync by a restarted programmer", fresh);

  fresh.applyDelta({ version: 2n, inSync: true, changes: [{ change: { $case: "ipSetDelta", value: { id: "s0", added: ["10.99.99.99/32"], removed: [] } } }] });
  await fresh.apply();
  report("one IP-set member added", fresh);

  const p0 = state.policies[0]!;
  const users = state.workloadEndpoints.filter((e) => e.tiers.some((t) => t.ingressPolicies.includes(testing.keyOf(p0)))).length;
  const changed = { ...p0, inboundRules: [...p0.inboundRules, allow({ protocol: 6, dstPorts: [{ first: 443, last: 443 }] })] };
  fresh.applyDelta({ version: 3n, inSync: true, changes: [{ change: { $case: "policy", value: changed } }] });
  await fresh.apply();
  report(`one policy changed (used by ${users} endpoints)`, fresh);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
