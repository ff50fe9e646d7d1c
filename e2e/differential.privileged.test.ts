/**
 * Differential test, kernel vs reference evaluator: for each seed, a random scenario (random
 * policies in random tiers, profiles, network sets, named ports, negations, ICMP matches) is
 * played into the real driver, then random probes run between the pods. The verdict of the real
 * packets must equal policy-core's verdict for exactly what the driver was told, probe by probe.
 *
 * Seeds: 5, 12, 26 by default (chosen for a mix of verdicts and deciding rules); E2E_SEEDS="7 8" or E2E_SEEDS=random to explore. A failure prints the
 * seed, the scenario YAML (replayable with `ptables felix-play`) and the table of probes.
 */
import { parseScenario } from "@ptables/felix";
import { createTopology, type Topology } from "@ptables/testkit";
import { assertCases, isRoot, sweepLeftovers } from "./lib/e2e-helpers";
import { startPtablesNode, type PtablesNode } from "./lib/ptables-node";
import { DIFF_TCP_OPEN, DIFF_UDP_OPEN, randomProbes, randomScenarioYaml } from "./lib/random-scenario";

const PREFIX = "dif";
const PROBES_PER_SEED = 40;
const describeIfRoot = isRoot ? describe : describe.skip;

function seeds(): number[] {
  const env = process.env.E2E_SEEDS?.trim();
  if (!env) return [5, 12, 26];
  if (env === "random") return Array.from({ length: 3 }, () => Math.floor(Math.random() * 2 ** 31));
  return env.split(/[\s,]+/).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw new Error(`E2E_SEEDS: "${s}" is not a seed`);
    return n;
  });
}

describeIfRoot("differential: kernel verdicts == reference evaluator on random policies", () => {
  const verdicts = { allow: 0, deny: 0 };

  beforeAll(() => sweepLeftovers(PREFIX));

  afterAll(() => {
    // The seeds must exercise both outcomes, or the comparison proves little.
    expect(verdicts.allow).toBeGreaterThan(0);
    expect(verdicts.deny).toBeGreaterThan(0);
  });

  test.each(seeds())("seed %i", async (seed) => {
    const yaml = randomScenarioYaml(seed);
    const topology: Topology = createTopology({ prefix: PREFIX });
    let node: PtablesNode | undefined;
    try {
      node = await startPtablesNode(topology, "node-a", parseScenario(yaml, `seed-${seed}`), { tcpPorts: DIFF_TCP_OPEN, udpPorts: DIFF_UDP_OPEN });
      const result = await assertCases([node], `seed ${seed}`, randomProbes(seed, PROBES_PER_SEED));
      for (const row of result.rows) verdicts[row.actual] += 1;
    } catch (err) {
      (err as Error).message += `\n--- repro: E2E_SEEDS=${seed} npx jest e2e/differential; the scenario: ---\n${yaml}`;
      throw err;
    } finally {
      await node?.cleanup();
      await topology.destroy();
    }
  }, 90_000);
});
