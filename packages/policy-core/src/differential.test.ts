/**
 * Randomized differential test: for random policies, tiers, profiles, IP sets and packets, the
 * reference evaluator and compile -> tables -> interpreter must agree on verdict, drop reason,
 * deciding rule and logged rules. A fixed seed replays known ground; a fresh seed each run
 * explores. On failure the seed is printed: rerun with PTABLES_DIFF_SEED=<seed>.
 */
import { HOST_HOOKS, type Direction, type EvaluationTarget, type HostHook, type Packet } from "./index";
import { Rng, aimedPacket, prepareCrossCheck, randomPacket, randomScenario, type CrossCheck } from "./testing";

const SCENARIOS = 400;
const PACKETS_PER_SCENARIO = 24;

function runSeed(seed: number): { cases: number; verdicts: Map<string, number> } {
  const rng = new Rng(seed);
  const verdicts = new Map<string, number>();
  let cases = 0;
  for (let s = 0; s < SCENARIOS; s++) {
    const scenario = randomScenario(rng);
    // Each target and direction is compiled once and then fed many packets.
    const checkers = new Map<string, (packet: Packet) => CrossCheck>();
    const checkerFor = (target: EvaluationTarget, direction: Direction, label: string): ((packet: Packet) => CrossCheck) => {
      let checker = checkers.get(label);
      if (!checker) checkers.set(label, (checker = prepareCrossCheck(scenario.lookup, target, direction)));
      return checker;
    };
    for (let k = 0; k < PACKETS_PER_SCENARIO; k++) {
      const packet = rng.chance(0.6) ? aimedPacket(rng, scenario) : randomPacket(rng);
      const direction: Direction = rng.chance(0.5) ? "ingress" : "egress";
      const hook: HostHook | undefined = rng.chance(0.3) ? rng.pick(HOST_HOOKS) : undefined;
      const target: EvaluationTarget = hook ? { kind: "host", endpoint: scenario.host, hook } : { kind: "workload", endpoint: scenario.workload };
      const label = `${hook ?? "workload"} ${direction}`;
      const check = checkerFor(target, direction, label)(packet);
      cases++;
      const outcome = `${check.verdict.verdict}/${check.verdict.reason}`;
      verdicts.set(outcome, (verdicts.get(outcome) ?? 0) + 1);
      if (check.mismatch) {
        throw new Error(
          [
            `evaluator and compiled program disagree (seed ${seed}, scenario ${s}, packet ${k}): ${check.mismatch}`,
            `target: ${label}`,
            `packet: ${JSON.stringify(packet)}`,
            `evaluator steps:\n  ${check.verdict.steps.join("\n  ")}`,
            `program result: ${JSON.stringify(check.result)}`,
            `rerun with PTABLES_DIFF_SEED=${seed}`,
          ].join("\n"),
        );
      }
    }
  }
  return { cases, verdicts };
}

describe("evaluator vs compiled program (differential)", () => {
  const fixed = 20240611;
  const fresh = Number(process.env.PTABLES_DIFF_SEED) || (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;

  test.each([
    ["fixed", fixed],
    ["fresh", fresh],
  ])("%s seed %d: every case agrees, and every kind of verdict occurs", (_name, seed) => {
    const { cases, verdicts } = runSeed(seed);
    expect(cases).toBe(SCENARIOS * PACKETS_PER_SCENARIO);
    // The generator must actually reach every outcome, or agreement would prove little.
    const kinds = ["allow/allow", "deny/policy-deny", "deny/end-of-tier", "deny/no-profile-match", "deny/admin-down", "deny/program-error", "allow/no-decision", "continue/no-decision"];
    expect(kinds.filter((k) => !verdicts.get(k))).toEqual([]);
  });
});
