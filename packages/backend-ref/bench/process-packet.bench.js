// Packet rate of the reference DPU's packet path, on the built packages
// (run `npx tsc -b packages/backend-ref` first):
//   node packages/backend-ref/bench/process-packet.bench.js
// Prints numbers only; nothing here asserts timing.
"use strict";
const { performance } = require("node:perf_hooks");
const pc = require("@ptables/policy-core");
const { ReferenceDpuBackend } = require("@ptables/backend-ref");
const t = pc.testing;

async function main() {
  const backend = new ReferenceDpuBackend();
  const web = t.ipSet("s:web", "net", Array.from({ length: 1000 }, (_, i) => `10.65.${i >> 8}.${i & 255}/32`));
  const policies = Array.from({ length: 20 }, (_, i) =>
    t.policy(`p${i}`, { inbound: [t.allow({ protocol: 6, srcIpSetIds: ["s:web"], dstPorts: [{ first: 8000 + i, last: 8000 + i }] }), t.deny({ protocol: 17, dstPorts: [{ first: 9000 + i, last: 9000 + i }] })] }),
  );
  const lookup = pc.createModelLookup({ policies, ipSets: [web], profiles: [t.profile("kns", [t.allow({ protocol: 1 })])] });
  const ep = t.workload({ ifname: "cali0", tiers: [t.tier("default", { ingress: policies, defaultAction: "pass" })], profileIds: ["kns"] });
  const prog = pc.compileWorkloadProgram(ep, "ingress", lookup, backend.capabilities());
  const id = pc.programId("cali0", "ingress", 0);
  const { members, ports } = pc.programSetEntries(prog, lookup);
  await backend.tables.setMembers.applyBatch(members.map((m) => [m, true]), []);
  await backend.tables.portSets.applyBatch(ports.map((p) => [p, true]), []);
  await backend.tables.rules.applyBatch(prog.rules.map((r, index) => [{ programId: id, index }, r]), []);
  await backend.tables.endpoints.applyBatch([[{ ifname: "cali0" }, { ingressProgram: id, egressProgram: id, flags: 0, ingressLength: prog.rules.length, egressLength: prog.rules.length }]], []);
  const packets = [t.tcp("10.65.0.7:4000", "10.0.0.2:8019"), t.udp("10.65.0.7:4000", "10.0.0.2:9019"), t.icmp("10.65.0.7", "10.0.0.2")];
  for (const p of packets) {
    const n = 20000;
    const start = performance.now();
    for (let i = 0; i < n; i++) backend.processPacket("cali0", "ingress", p, 64);
    const ms = performance.now() - start;
    const outcome = backend.processPacket("cali0", "ingress", p);
    console.log(`${prog.rules.length}-rule program, ${JSON.stringify(p).slice(0, 60)}… -> ${outcome.verdict} at rule ${outcome.ruleIndex}: ${Math.round((n * 1000) / ms)} packets/s`);
  }
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
