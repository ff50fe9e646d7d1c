/**
 * privileged: the C rule interpreter against policy-core's reference interpreter (runProgram),
 * on programs the real compiler makes from random Calico policy and on packets aimed at their
 * rules. Each packet runs through BPF_PROG_TEST_RUN and must get the same verdict and drop
 * reason, and the deciding rule's counter must move. Seeds are fixed, so a failure replays.
 */
import { DropReason } from "@ptables/api";
import { programSetEntries, runProgram, TableSetLookup, testing, type Packet } from "@ptables/policy-core";
import { ethPacket, TCP_SYN } from "./testing/packets";
import { TC_ACT_OK, TC_ACT_SHOT, TestRunHarness } from "./testing/test-run-harness";

const SEEDS = 300;
const PACKETS_PER_PROGRAM = 30;

let h: TestRunHarness;

beforeAll(async () => {
  h = await TestRunHarness.open();
  // Every packet must meet policy: entries expire at once, so no run rides on an earlier one.
  await h.backend.setConntrackTimeouts({ "syn-sent": 1n, "syn-recv": 1n, established: 1n, "fin-wait": 1n, closed: 1n, udp: 1n, icmp: 1n, other: 1n });
});

afterAll(async () => {
  await h?.close();
});

/** The frame for a policy-core Packet (TCP as a SYN, ICMP with the given type/code). */
function frame(p: Packet): Buffer {
  return ethPacket({ src: p.srcIp, dst: p.dstIp, proto: p.proto, srcPort: p.srcPort, dstPort: p.dstPort, tcpFlags: TCP_SYN, icmpType: p.icmpType, icmpCode: p.icmpCode });
}

/** Neighbour discovery bypasses policy in the datapath by design (docs/datapath.md). */
function isNdp(p: Packet): boolean {
  return p.family === 6 && p.proto === 58 && (p.icmpType ?? 0) >= 133 && (p.icmpType ?? 0) <= 137;
}

describe("privileged: C interpreter = policy-core interpreter", () => {
  test(`${SEEDS} random scenarios, both directions, ${PACKETS_PER_PROGRAM} packets each`, async () => {
    let programId = 0x70000;
    let compared = 0;
    const outcomes = new Map<string, number>();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rng = new testing.Rng(seed);
      const scenario = testing.randomScenario(rng);
      for (const direction of ["ingress", "egress"] as const) {
        const program = testing.compileTarget(scenario.lookup, { kind: "workload", endpoint: scenario.workload }, direction);
        const { members, ports } = programSetEntries(program, scenario.lookup);
        const sets = TableSetLookup.from(members, ports);
        expect(await h.backend.tables.setMembers.applyBatch(members.map((k) => [k, true]), [])).toEqual([]);
        expect(await h.backend.tables.portSets.applyBatch(ports.map((k) => [k, true]), [])).toEqual([]);
        programId++;
        await h.program(programId, program.rules);
        h.endpoint(1, { ingressProgram: programId, egressProgram: programId, flags: 0, ingressLength: program.rules.length, egressLength: program.rules.length });

        for (let i = 0; i < PACKETS_PER_PROGRAM; i++) {
          const packet = rng.chance(0.7) ? testing.aimedPacket(rng, scenario) : testing.randomPacket(rng);
          if (isNdp(packet)) continue;
          const want = runProgram(program.rules, sets, packet);
          const reason = want.reason === DropReason.None ? DropReason.PolicyDeny : want.reason;
          const deciding = want.verdict === "continue" ? 0n : (program.rules[want.ruleIndex]?.counterId ?? 0n);
          const dropsBefore = await h.dropPackets(reason);
          const countedBefore = (await h.ruleCounter(deciding))?.packets ?? 0n;
          const got = h.run("from", frame(packet)).retval;
          const dropped = (await h.dropPackets(reason)) - dropsBefore;
          const counted = ((await h.ruleCounter(deciding))?.packets ?? 0n) - countedBefore;
          const where = { seed, direction, packet, want };
          if (want.verdict === "deny") {
            expect({ ...where, retval: got, dropped }).toEqual({ ...where, retval: TC_ACT_SHOT, dropped: 1n });
          } else {
            expect({ ...where, retval: got }).toEqual({ ...where, retval: TC_ACT_OK });
          }
          if (deciding !== 0n) expect({ ...where, counted: counted >= 1n }).toEqual({ ...where, counted: true });
          outcomes.set(want.verdict, (outcomes.get(want.verdict) ?? 0) + 1);
          compared++;
        }
        // Sets are reused by id across scenarios with other members: start the next one clean.
        expect(await h.backend.tables.setMembers.applyBatch([], members)).toEqual([]);
        expect(await h.backend.tables.portSets.applyBatch([], ports)).toEqual([]);
      }
    }
    // The scenarios must exercise both outcomes, or the comparison proves little.
    expect(compared).toBeGreaterThan(SEEDS * PACKETS_PER_PROGRAM);
    expect(outcomes.get("allow") ?? 0).toBeGreaterThan(compared / 20);
    expect(outcomes.get("deny") ?? 0).toBeGreaterThan(compared / 20);
  }, 120_000);
});
