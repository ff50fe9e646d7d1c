// Throughput of the compiler, set-key generation and the table interpreter, on the built
// package (run `npx tsc -b packages/policy-core` first):
//   node packages/policy-core/bench/compile-and-run.bench.js
// Prints numbers only; nothing here asserts timing.
"use strict";
const { performance } = require("node:perf_hooks");
const pc = require("@ptables/policy-core");
const t = pc.testing;

function time(label, iterations, fn) {
  fn(); // warm up
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn(i);
  const ms = performance.now() - start;
  console.log(`${label.padEnd(58)} ${(ms / iterations).toFixed(3).padStart(9)} ms/op  ${Math.round((iterations * 1000) / ms).toString().padStart(9)} op/s`);
}

// A large endpoint: 10 tiers x 10 policies x 10 rules, with sets, ports and CIDRs.
const ipSets = [];
for (let i = 0; i < 20; i++) ipSets.push(t.ipSet(`s:${i}`, "net", Array.from({ length: 50 }, (_, j) => `10.${i}.${j}.0/24`)));
for (let i = 0; i < 5; i++) ipSets.push(t.ipSet(`n:${i}`, "ip-port", Array.from({ length: 50 }, (_, j) => `10.${i}.${j}.1,tcp:${8000 + j}`)));
const policies = [];
const tiers = [];
for (let ti = 0; ti < 10; ti++) {
  const inTier = [];
  for (let pi = 0; pi < 10; pi++) {
    const rules = Array.from({ length: 10 }, (_, ri) =>
      t.rule({
        action: ri === 9 ? 4 : (ri % 3) + 1,
        protocol: 6,
        srcIpSetIds: [`s:${(ti + ri) % 20}`],
        dstPorts: [{ first: 1000 + ri * 10, last: 1005 + ri * 10 }],
        dstNamedPortIpSetIds: ri % 4 === 0 ? [`n:${ri % 5}`] : [],
        notSrcNets: [`192.168.${ri}.0/24`],
        ruleId: `r${ti}-${pi}-${ri}`,
      }),
    );
    const p = t.policy(`p${ti}-${pi}`, { inbound: rules, outbound: rules });
    policies.push(p);
    inTier.push(p);
  }
  tiers.push(t.tier(`tier${ti}`, { ingress: inTier, egress: inTier, defaultAction: "pass" }));
}
const lookup = pc.createModelLookup({ policies, ipSets, profiles: [t.profile("kns.default", [t.allow()], [t.allow()])] });
const ep = t.workload({ tiers, profileIds: ["kns.default"] });
const caps = { maxRulesPerProgram: 100000 };

const program = pc.compileWorkloadProgram(ep, "ingress", lookup, caps);
console.log(`program: ${program.rules.length} rules, ${program.netSets.size} net sets, ${program.portSets.size} port sets, ${program.ipSetsUsed.size} ip sets`);
time("compileWorkloadProgram (1000 policy rules)", 50, () => pc.compileWorkloadProgram(ep, "ingress", lookup, caps));
const { members, ports } = pc.programSetEntries(program, lookup);
console.log(`set entries: ${members.length} members, ${ports.length} port keys`);
time("programSetEntries", 50, () => pc.programSetEntries(program, lookup));
const sets = pc.TableSetLookup.from(members, ports);
time("TableSetLookup.from", 50, () => pc.TableSetLookup.from(members, ports));

const big = t.ipSet("s:big", "net", Array.from({ length: 100000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`));
time("ipSetMemberKeys (100k members)", 5, () => pc.ipSetMemberKeys(1, big));

const miss = t.tcp("172.16.0.1:40000", "10.0.0.2:9999"); // walks all 1000 rules to the profile
const hit = t.tcp("10.0.1.7:40000", "10.0.0.2:1003"); // allowed by the first rule
time("runProgram, packet walking the whole program", 2000, () => pc.runProgram(program.rules, sets, miss));
time("runProgram, packet decided by rule 0", 20000, () => pc.runProgram(program.rules, sets, hit));
time("evaluatePolicy (reference evaluator), whole-program walk", 200, () => pc.evaluatePolicy(lookup, { kind: "workload", endpoint: ep }, "ingress", miss));
time("portSetKeys (worst-case range 1-65534)", 20000, () => pc.portSetKeys(1, [{ first: 1, last: 65534 }]));
