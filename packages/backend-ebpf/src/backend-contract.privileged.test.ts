/**
 * privileged: the shared backend contract (@ptables/testkit) against the eBPF backend. The
 * backend runs in a node namespace this file creates, with two veth ends to attach to and a
 * connected subnet so the contract's onlink route has a usable gateway.
 */
import { createTopology, runBackendContract } from "@ptables/testkit";
import { removeBpfDir } from "./native/bpffs";
import { ensureBpfObject } from "./testing/bpf-object-build";
import { RemoteBackend } from "./testing/remote-backend";
import { uniqueBpfDir } from "./testing/test-bpf-dir";

const topology = createTopology({ prefix: "ptcontract" });
const bpfDir = uniqueBpfDir();
const agents: RemoteBackend[] = [];
let ns = "";

beforeAll(async () => {
  ensureBpfObject();
  const node = await topology.addNode("node");
  ns = node.ns;
  await topology.ip(ns, ["link", "add", "ptc0", "type", "veth", "peer", "name", "ptc1"]);
  await topology.ip(ns, ["link", "set", "ptc0", "up"]);
  await topology.ip(ns, ["link", "set", "ptc1", "up"]);
  await topology.ip(ns, ["addr", "add", "192.168.1.1/24", "dev", "ptc1"]);
}, 60_000);

afterAll(async () => {
  try {
    for (const agent of agents) await agent.stop();
  } finally {
    await topology.destroy();
    removeBpfDir(bpfDir);
  }
}, 60_000);

runBackendContract(
  "ebpf",
  async () => {
    await agents.at(-1)?.stop();
    const agent = RemoteBackend.start({
      ns,
      bpfDir,
      mapSizes: { members: 65536, portSets: 4096, rules: 65536, endpoints: 256, conntrack: 4096, counters: 65536, frags: 64 },
    });
    agents.push(agent);
    return agent;
  },
  { endpointIfnames: ["ptc0", "ptc1"] },
);
