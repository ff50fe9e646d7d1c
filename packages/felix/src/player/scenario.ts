/**
 * Scenarios: a small YAML description of a Calico cluster (nodes, namespaces, pods, tiers,
 * policies, profiles, network sets) and of timed changes after InSync. `parseScenario` checks
 * everything up front — shape, values, references, and that every step applies — so a bad
 * scenario is reported with the path of the problem before a driver is started.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { YAMLParseError, parseDocument } from "yaml";
import { ClusterState } from "./cluster";
import { readNamespace, readNetworkSet, readNode, readPod, readServiceAccount, readTier } from "./scenario-objects";
import { readEncapsulation, readIpPool } from "./scenario-network";
import { readName, readPolicy, readProfile } from "./scenario-rules";
import { readStep } from "./scenario-steps";
import type { Scenario, StepSpec } from "./scenario-types";
import { ScenarioError, fail, indexPath, keyPath, readList, readObject, readStringMap } from "./validate";

const TOP_LEVEL_KEYS = ["node", "nodes", "config", "namespaces", "serviceAccounts", "pods", "tiers", "policies", "profiles", "networkSets", "ipPools", "encapsulation", "steps"];

/**
 * Parses and validates scenario YAML. `source` (usually the file name) prefixes error messages.
 * Throws ScenarioError naming the path of the first problem.
 */
export function parseScenario(text: string, source = "scenario"): Scenario {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const where = err instanceof YAMLParseError && err.linePos ? `line ${err.linePos[0].line}, column ${err.linePos[0].col}` : "yaml";
    // With prettyErrors the message ends in " at line L, column C:" plus a code excerpt.
    throw new ScenarioError(where, `not valid YAML: ${err.message.split("\n")[0].replace(/ at line \d+, column \d+:$/, "")}`, source);
  }
  try {
    const scenario = readScenario(doc.toJS({ maxAliasCount: 100 }));
    checkScenarioPlays(scenario);
    return scenario;
  } catch (err) {
    if (err instanceof ScenarioError) throw new ScenarioError(err.path, err.reason, source);
    throw err;
  }
}

/** Reads and parses a scenario file; errors are prefixed with the file's base name. */
export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "read error";
    throw new ScenarioError("file", `cannot read ${file} (${code})`, path.basename(file));
  }
  return parseScenario(text, path.basename(file));
}

/** Path of the example scenario that ships with the player (used by the demo). */
export function demoScenarioPath(): string {
  // Compiled code lives in dist/player; the example stays in src/player/examples.
  const candidates = [path.join(__dirname, "examples", "demo.yaml"), path.join(__dirname, "..", "..", "src", "player", "examples", "demo.yaml")];
  return candidates.find((file) => existsSync(file)) ?? candidates[0];
}

function readScenario(value: unknown): Scenario {
  const obj = readObject(value ?? {}, "", TOP_LEVEL_KEYS);
  const nodes = readList(obj.nodes, "nodes").map((n, i) => readNode(n, indexPath("nodes", i)));
  if (nodes.length === 0) fail("nodes", "a scenario needs at least one node");
  const node = obj.node === undefined ? nodes[0].name : readName(obj.node, "node");
  const firstNode = nodes[0].name;
  let previousMs = 0;
  const steps: StepSpec[] = readList(obj.steps, "steps").map((s, i) => {
    const step = readStep(s, indexPath("steps", i), previousMs, firstNode);
    previousMs = step.afterMs;
    return step;
  });
  return {
    node,
    nodes,
    config: readStringMap(obj.config, "config"),
    namespaces: readList(obj.namespaces, "namespaces").map((n, i) => readNamespace(n, indexPath("namespaces", i))),
    serviceAccounts: readList(obj.serviceAccounts, "serviceAccounts").map((n, i) => readServiceAccount(n, indexPath("serviceAccounts", i))),
    pods: readList(obj.pods, "pods").map((p, i) => readPod(p, indexPath("pods", i), firstNode)),
    tiers: readList(obj.tiers, "tiers").map((t, i) => readTier(t, indexPath("tiers", i))),
    policies: readList(obj.policies, "policies").map((p, i) => readPolicy(p, indexPath("policies", i))),
    profiles: readList(obj.profiles, "profiles").map((p, i) => readProfile(p, indexPath("profiles", i))),
    networkSets: readList(obj.networkSets, "networkSets").map((n, i) => readNetworkSet(n, indexPath("networkSets", i))),
    ipPools: readList(obj.ipPools, "ipPools").map((p, i) => readIpPool(p, indexPath("ipPools", i))),
    ...(obj.encapsulation !== undefined ? { encapsulation: readEncapsulation(obj.encapsulation, "encapsulation") } : {}),
    steps,
  };
}

/** Replays the scenario against a scratch cluster so reference errors surface now. */
function checkScenarioPlays(scenario: Scenario): void {
  const state = ClusterState.fromScenario(scenario);
  scenario.steps.forEach((step, i) => state.apply(step.action, keyPath(indexPath("steps", i), step.action.kind)));
}
