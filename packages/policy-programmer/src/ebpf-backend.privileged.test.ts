/**
 * privileged: the programmer over the real eBPF backend (pinned maps, tc filters on veths).
 * Checks what only a real backend can break: readback of BPF maps is canonical enough that a
 * restarted programmer, and one over a freshly reopened backend, write nothing. Needs root.
 */
import { execFileSync } from "node:child_process";
import { testing as ebpfTesting } from "@ptables/backend-ebpf";
import { sync } from "@ptables/proto";
import type { DesiredState } from "@ptables/api";
import { Programmer } from "./programmer";
import { snapshotOf } from "./testing/fixtures";
import { STATES } from "./testing/states";

const isRoot = process.getuid?.() === 0;
const describeIfRoot = isRoot ? describe : describe.skip;

const tag = String(process.pid % 100000);
// Everything happens inside a namespace this test creates; the backend runs there through
// RemoteBackend (nsenter --net keeps the mount namespace, so the pins stay visible).
const ns = `ptpp-${tag}`;
const links = [`ptpp${tag}a`, `ptpp${tag}b`];
const bpfDir = ebpfTesting.uniqueBpfDir();

function startBackend(): ebpfTesting.RemoteBackend {
  return ebpfTesting.RemoteBackend.start({ ns, bpfDir, role: "owner" });
}

/** A state with its endpoints moved onto this test's interfaces. */
function onTestLinks(state: DesiredState): DesiredState {
  return { ...state, workloadEndpoints: state.workloadEndpoints.map((ep, i) => ({ ...ep, ifname: links[i % links.length]! })) };
}

function endpointStates(p: Programmer): string[] {
  return p
    .statuses()
    .filter((s) => s.kind === sync.ObjectKind.OBJECT_KIND_WORKLOAD_ENDPOINT)
    .map((s) => sync.ObjectState[s.state]!)
    .sort();
}

describeIfRoot("privileged: programmer over the eBPF backend", () => {
  beforeAll(() => {
    execFileSync("ip", ["netns", "add", ns]);
    for (const l of links) execFileSync("ip", ["-n", ns, "link", "add", l, "type", "veth", "peer", "name", `${l}p`]);
  });
  afterAll(async () => {
    const b = startBackend();
    try {
      await b.open().catch(() => undefined);
      await b.cleanup().catch(() => undefined);
    } finally {
      await b.stop().catch(() => undefined);
      execFileSync("ip", ["netns", "del", ns]);
    }
  });

  test("programs, then resyncs with zero writes after a restart and after reopening the pinned maps", async () => {
    const web = onTestLinks(STATES.web!.state);
    const nets = onTestLinks(STATES.nets!.state);
    const backend = startBackend();
    await backend.open();
    const first = new Programmer(backend);
    first.applySnapshot(snapshotOf(web, 1n));
    await first.apply();
    expect(first.lastApply!.error).toBeUndefined();
    expect(endpointStates(first)).toEqual(["OBJECT_STATE_PROGRAMMED", "OBJECT_STATE_PROGRAMMED"]);

    const restarted = new Programmer(backend);
    restarted.applySnapshot(snapshotOf(web, 1n));
    await restarted.apply();
    expect(restarted.lastApply!.writes).toBe(0);

    restarted.applySnapshot(snapshotOf(nets, 2n));
    await restarted.apply();
    expect(endpointStates(restarted)).toEqual(["OBJECT_STATE_PROGRAMMED", "OBJECT_STATE_PROGRAMMED"]);
    await backend.close();
    await backend.stop();

    const reopened = startBackend();
    await reopened.open();
    const third = new Programmer(reopened);
    third.applySnapshot(snapshotOf(nets, 2n));
    await third.apply();
    expect(third.lastApply!.writesByTable).toEqual({ setMembers: 0, portSets: 0, rules: 0, endpoints: 0 });
    await reopened.close();
    await reopened.stop();
  });
});
