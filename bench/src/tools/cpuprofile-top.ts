/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): the top frames by self time and by total
 * (inclusive) time, with file:line. Usage: node bench/dist/tools/cpuprofile-top.js <file> [n] [filter]
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const [file, nArg, filter] = process.argv.slice(2);
if (!file) {
  console.error("usage: cpuprofile-top <file.cpuprofile> [n] [url-filter]");
  process.exit(2);
}
const n = Number(nArg ?? 25);
const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: Node[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);

// Self time per node from samples and deltas (µs).
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const label = (node: Node): string => {
  const url = node.callFrame.url.replace(/^file:\/\//, "");
  const where = url ? `${relative(process.cwd(), url)}:${node.callFrame.lineNumber + 1}` : "";
  return `${node.callFrame.functionName || "(anonymous)"} ${where}`.trim();
};

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id)!;
  self.set(label(node), (self.get(label(node)) ?? 0) + us);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + us);
  }
}
const show = (title: string, m: Map<string, number>) => {
  console.log(`${title} (of ${(total / 1000).toFixed(0)} ms sampled)`);
  [...m.entries()]
    .filter(([l]) => !filter || l.includes(filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .forEach(([l, us]) => console.log(`${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${l}`));
};
show("self time", self);
console.log("");
show("total time", inclusive);
