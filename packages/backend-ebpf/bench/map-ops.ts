/**
 * Prints what the eBPF backend's operations cost on this machine (no assertions):
 *  - set-member updates: one syscall per element vs the set-members table's batch path;
 *  - per-packet policy cost for programs of N rules, through BPF_PROG_TEST_RUN, with the
 *    deciding rule last (every rule is evaluated), for compare-only rules and for rules that
 *    each do one set (LPM) lookup; and the cost of a packet that conntrack lets through.
 *
 * Run (root): npm run bench -w @ptables/backend-ebpf
 * Uses a private bpf directory under /sys/fs/bpf and removes it at the end.
 */
import { DpAction, type SetMemberKey } from "@ptables/api";
import { MEMBER_KEY } from "../src/codec/layouts";
import { encodeMemberKey } from "../src/codec/member-key-codec";
import { compiledRule, PROTO_UDP } from "../src/testing/compiled-rule";
import { ethPacket } from "../src/testing/packets";
import { TestRunHarness } from "../src/testing/test-run-harness";

const MEMBERS = 100_000;
const RULE_COUNTS = [10, 100, 1000, 10_000];
const REPEAT = 2000;

function member(i: number): SetMemberKey {
  return { setId: 0x3333, family: 4, proto: 0, port: 0, addr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, prefixLen: 32 };
}

function micros(startNs: bigint, count: number): string {
  return (Number(process.hrtime.bigint() - startNs) / 1000 / count).toFixed(2);
}

async function benchMembers(h: TestRunHarness): Promise<void> {
  const map = h.backend.rawMap("members");
  const table = h.backend.tables.setMembers;
  const keys = Array.from({ length: MEMBERS }, (_, i) => member(i));
  const key = Buffer.alloc(MEMBER_KEY.size);
  const value = Buffer.from([1]);

  let t = process.hrtime.bigint();
  for (const k of keys) {
    encodeMemberKey(k, key, 0);
    map.update(key, value);
  }
  console.log(`members: single update            ${micros(t, MEMBERS)} µs/element (${MEMBERS} elements, encode + 1 syscall each)`);
  t = process.hrtime.bigint();
  for (const k of keys) {
    encodeMemberKey(k, key, 0);
    map.delete(key);
  }
  console.log(`members: single delete            ${micros(t, MEMBERS)} µs/element`);

  t = process.hrtime.bigint();
  const upErrors = await table.applyBatch(keys.map((k) => [k, true]), []);
  console.log(`members: table batch upsert       ${micros(t, MEMBERS)} µs/element (BPF_MAP_UPDATE_BATCH, ${upErrors.length} errors)`);
  t = process.hrtime.bigint();
  const loaded = await table.loadAll();
  console.log(`members: table loadAll            ${micros(t, loaded.length)} µs/element (${loaded.length} read back)`);
  t = process.hrtime.bigint();
  const delErrors = await table.applyBatch([], keys);
  console.log(`members: table batch delete       ${micros(t, MEMBERS)} µs/element (${delErrors.length} errors)`);
}

async function benchPolicy(h: TestRunHarness): Promise<void> {
  // An ICMP timestamp request: never tracked, so every run goes through the whole program.
  const packet = ethPacket({ src: "10.65.0.2", dst: "10.65.1.7", proto: "icmp", icmpType: 13 });
  await h.members(0x4444, ["192.168.0.0/16"]); // the address is never in it
  let programId = 0x9000;
  for (const n of RULE_COUNTS) {
    for (const kind of ["compare", "lpm"] as const) {
      const miss = kind === "compare" ? compiledRule({ proto: PROTO_UDP }) : compiledRule({ srcNet: 0x4444 });
      const rules = [...Array.from({ length: n - 1 }, () => miss), compiledRule({ action: DpAction.Allow })];
      programId++;
      const t = process.hrtime.bigint();
      await h.program(programId, rules);
      const writeUs = micros(t, n);
      h.endpoint(1, { ingressProgram: programId, egressProgram: programId, flags: 0, ingressLength: n, egressLength: n });
      const repeat = Math.max(20, Math.floor(REPEAT / Math.max(1, n / 100)));
      const run = h.run("from", packet, { repeat });
      console.log(
        `policy: ${String(n).padStart(5)} rules, ${kind.padEnd(7)} ${String(run.durationNs).padStart(9)} ns/packet ` +
          `(${(run.durationNs / n).toFixed(1)} ns/rule; verdict ${run.retval}; ${repeat} runs; rule writes ${writeUs} µs/rule)`,
      );
    }
  }
  // An established flow: conntrack answers, the program is not consulted.
  const flow = { src: "10.65.0.2", dst: "10.65.1.7", proto: "udp" as const, srcPort: 1234, dstPort: 53 };
  h.run("from", ethPacket(flow));
  const hit = h.run("from", ethPacket(flow), { repeat: REPEAT });
  console.log(`conntrack: established flow hit       ${String(hit.durationNs).padStart(6)} ns/packet (program of ${RULE_COUNTS.at(-1)} rules not consulted)`);
}

async function main(): Promise<void> {
  const t = process.hrtime.bigint();
  const h = await TestRunHarness.open({ mapSizes: { members: 1 << 18, rules: 1 << 16 } });
  console.log(`open (load + verify + pin, fresh maps): ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(0)} ms`);
  try {
    await benchMembers(h);
    await benchPolicy(h);
  } finally {
    await h.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
