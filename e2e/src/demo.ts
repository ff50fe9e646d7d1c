/**
 * The ptables demo (scripts/demo.sh): one Calico node and its pods as network namespaces, the
 * real bin/ptables-felix-driver started exactly as Felix starts it, a scenario played into it,
 * then real traffic between the pods, shown next to what Calico's semantics (the reference
 * evaluator) say and which tier, policy and rule decided. Then the scenario's timed changes, and
 * the traffic again. Everything is removed at the end, on Ctrl-C and on errors.
 *
 * A scenario with pods on several nodes (examples/two-node.yaml) builds every node, joined by a
 * fabric, with one driver per node fed that node's view, and shows the traffic across nodes over
 * the VXLAN tunnels ptables programs (demo-cluster.ts).
 *
 * Usage: node e2e/dist/src/demo.js [scenario.yaml]   (default: the player's demo.yaml)
 */
import { ScenarioError, demoScenarioPath, loadScenario, type Scenario } from "@ptables/felix";
import { createTopology, sweepStale, type Topology } from "@ptables/testkit";
import { sweepStaleBpffs } from "../lib/bpffs";
import { createPtablesNode, type PtablesNode } from "../lib/ptables-node";
import { sleep } from "../lib/run";
import { clusterProblem, nodesWithPods, playCluster } from "./demo-cluster";
import { bold, dim, interestingPorts, probeCases, red, say, section, showProgrammed, table, trafficMatrix, yellow } from "./demo-view";

const PREFIX = "demo";

// --- main ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes("-h") || args.includes("--help") || args.length > 1) {
    say("Usage: demo [scenario.yaml]   (default: the built-in demo scenario)");
    return args.length > 1 ? 2 : 0;
  }
  if (process.getuid?.() !== 0) {
    console.error("demo: must run as root (it creates network namespaces and loads BPF programs)");
    return 1;
  }
  const file = args[0] ?? demoScenarioPath();
  let scenario: Scenario;
  try {
    scenario = loadScenario(file);
  } catch (err) {
    if (!(err instanceof ScenarioError)) throw err;
    console.error(red(`demo: ${err.message}`));
    return 2;
  }
  const local = scenario.pods.filter((p) => p.node === scenario.node);
  const ports = interestingPorts(scenario);
  const multiNode = nodesWithPods(scenario).length > 1;
  const problem = multiNode ? clusterProblem(scenario) : undefined;
  if (problem !== undefined) {
    console.error(red(`demo: ${problem}`));
    return 2;
  }
  const t0 = Date.now();

  const policies = `${scenario.policies.length} polic${scenario.policies.length === 1 ? "y" : "ies"}, ${scenario.steps.length} timed change(s)`;
  say(bold(`ptables demo — scenario ${file}`));
  if (multiNode) {
    const perNode = scenario.nodes.map((n) => `${n.name} (${scenario.pods.filter((p) => p.node === n.name).length} pod(s) at start)`);
    say(dim(`${scenario.nodes.length} nodes, one driver each: ${perNode.join(", ")}; ${policies}.`));
  } else {
    say(dim(`Node ${scenario.node}: ${local.length} pod(s) at start, ${policies}.`));
  }
  say(dim(`Probing ${ports.map((p) => `${p.proto}/${p.port}`).join(", ")} and ping, over IPv4 and IPv6.`));

  let topology: Topology | undefined;
  /** Every node created so far (one here unless the scenario has pods on several nodes). */
  const nodes: PtablesNode[] = [];
  let cleaning: Promise<boolean> | undefined;
  /** Resolves true when everything was removed. */
  const cleanup = () =>
    (cleaning ??= (async () => {
      say(dim(`\nCleaning up: stopping the ${multiNode ? "drivers" : "driver"}, removing the datapath, the bpffs ${multiNode ? "mounts" : "mount"} and the namespaces...`));
      let ok = true;
      const report = (err: unknown) => {
        ok = false;
        console.error(red(`cleanup: ${(err as Error).message}`));
      };
      await Promise.all(nodes.map((n) => n.cleanup().catch(report)));
      await topology?.destroy().catch(report);
      return ok;
    })());
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    say(yellow(`\n${signal}: stopping.`));
    void cleanup().then((ok) => {
      say(ok ? dim("Everything removed.") : red("Some things could not be removed (see above)."));
      process.exit(130);
    });
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    await sweepStale(PREFIX);
    await sweepStaleBpffs();
    topology = createTopology({ prefix: PREFIX });

    if (multiNode) {
      await playCluster(topology, scenario, ports, nodes);
      return 0;
    }

    section("Pods (network namespaces wired like Calico's CNI)");
    say(table(["pod", "interface", "IPv4", "IPv6", "labels"], local.map((p) => [`${p.namespace}/${p.name}`, p.ifname, p.ipv4.join(" ") || "-", p.ipv6.join(" ") || "-", Object.entries(p.labels).map(([k, v]) => `${k}=${v}`).join(",")])));

    section("Starting bin/ptables-felix-driver the way Felix does (fd 3 / fd 4), and playing start of day");
    const startedAt = Date.now();
    const node = createPtablesNode(topology, scenario.node, scenario, {
      tcpPorts: ports.filter((p) => p.proto === "tcp").map((p) => p.port),
      udpPorts: ports.filter((p) => p.proto === "udp").map((p) => p.port),
      keepTopology: true,
    });
    nodes.push(node);
    await node.start();
    say(`  Every endpoint reported to Felix after ${((Date.now() - startedAt) / 1000).toFixed(1)} s.`);

    section("What was programmed");
    await showProgrammed(node);

    let rows = await trafficMatrix([node], probeCases([node], ports), "Traffic (real packets between the pods; decisions from the reference evaluator)");

    if (node.stream.steps.length > 0) {
      section("Playing the scenario's timed changes");
      let previousMs = 0;
      for (const step of node.stream.steps) {
        await sleep(Math.max(0, step.afterMs - previousMs));
        previousMs = step.afterMs;
        const description = await node.playStep();
        say(`  +${(step.afterMs / 1000).toFixed(1)} s  ${description}  ${dim(`(${step.messages.length} message(s) to the driver, applied)`)}`);
      }
      section("What is programmed now");
      await showProgrammed(node);
      rows = await trafficMatrix([node], probeCases([node], ports), "Traffic after the changes", rows);
    }
    void rows;
    return 0;
  } catch (err) {
    if (interrupted) return 130;
    console.error(red(`\ndemo failed: ${(err as Error).message}`));
    return 1;
  } finally {
    const clean = await cleanup();
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    say(clean ? dim(`Done in ${((Date.now() - t0) / 1000).toFixed(1)} s; everything it created is removed.`) : red("Some things could not be removed (see above)."));
  }
}

void main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
