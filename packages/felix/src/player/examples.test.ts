/**
 * The shipped example scenarios (the demo's embedded default and the two-node example) must
 * keep parsing, and every node's stream must be accepted by the driver's own store, so the
 * README's demo commands cannot rot silently.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { DesiredStateStore } from "../store";
import { loadScenario } from "./scenario";
import { buildFelixStream } from "./stream";

const examplesDir = path.join(__dirname, "examples");
const examples = readdirSync(examplesDir).filter((f) => f.endsWith(".yaml"));

test("the examples include the demo's default and the two-node scenario", () => {
  expect(examples).toEqual(expect.arrayContaining(["demo.yaml", "two-node.yaml"]));
});

describe.each(examples)("example %s", (file) => {
  const scenario = loadScenario(path.join(examplesDir, file));

  test.each(scenario.nodes.map((n) => n.name))("node %s: the stream is valid for the driver's store", (node) => {
    const stream = buildFelixStream(scenario, { node });
    const store = new DesiredStateStore();
    const messages = [...stream.startOfDay, ...stream.steps.flatMap((s) => s.messages)];
    const errors = messages.flatMap((m) => store.apply(m).errors);
    expect(errors).toEqual([]);
    expect(store.inSync).toBe(true);
    const local = scenario.pods.filter((p) => p.node === node).length;
    expect(stream.endpointsAtStart.length).toBe(local);
  });
});
