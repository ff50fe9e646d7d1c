import { sync, type felix } from "@ptables/proto";
import { createLogger } from "@ptables/runtime";
import { EndpointStatusReporter, type EndpointLookup } from "./endpoint-status";

const WEP_ID: felix.WorkloadEndpointID = { orchestratorId: "k8s", workloadId: "default/pod1", endpointId: "eth0" };
const WEP_KEY = "k8s/default/pod1/eth0";
const S = sync.ObjectState;

function setup() {
  const workloads = new Map<string, felix.WorkloadEndpointID>([[WEP_KEY, WEP_ID]]);
  const hosts = new Set<string>(["eth0-hep"]);
  const lookup: EndpointLookup = {
    workloadEndpoint: (k) => (workloads.has(k) ? { id: workloads.get(k)!, endpoint: undefined } : undefined),
    hostEndpoint: (k) => (hosts.has(k) ? { id: { endpointId: k } } : undefined),
  };
  const sent: felix.FromDataplane[] = [];
  const reporter = new EndpointStatusReporter(lookup, (m) => sent.push(m), createLogger({ component: "t", level: "error" }));
  const wep = (state: sync.ObjectState) => reporter.onProgrammerStatuses([{ kind: sync.ObjectKind.OBJECT_KIND_WORKLOAD_ENDPOINT, id: WEP_KEY, state, reason: "" }]);
  const hep = (state: sync.ObjectState) => reporter.onProgrammerStatuses([{ kind: sync.ObjectKind.OBJECT_KIND_HOST_ENDPOINT, id: "eth0-hep", state, reason: "" }]);
  const summary = () => sent.map((m) => `${m.payload!.$case}${"status" in m.payload!.value && m.payload!.value.status ? ":" + m.payload!.value.status.status : ""}`);
  return { reporter, workloads, hosts, sent, wep, hep, summary };
}

describe("EndpointStatusReporter", () => {
  test("maps states to Felix statuses and sends only changes", () => {
    const t = setup();
    t.wep(S.OBJECT_STATE_PENDING);
    t.wep(S.OBJECT_STATE_PROGRAMMED);
    t.wep(S.OBJECT_STATE_PROGRAMMED);
    t.wep(S.OBJECT_STATE_PENDING); // reprogramming keeps the last status
    t.wep(S.OBJECT_STATE_ERROR);
    t.wep(S.OBJECT_STATE_DOWN);
    t.wep(S.OBJECT_STATE_PROGRAMMED);
    expect(t.summary()).toEqual(["workloadEndpointStatusUpdate:up", "workloadEndpointStatusUpdate:down", "workloadEndpointStatusUpdate:up"]);
    expect(t.sent[0]!.payload!.value).toMatchObject({ id: WEP_ID });
  });

  test("REMOVED withdraws the status only when Felix no longer has the endpoint", () => {
    const t = setup();
    t.wep(S.OBJECT_STATE_PROGRAMMED);
    t.wep(S.OBJECT_STATE_REMOVED); // still known to Felix: it became invalid -> down
    t.workloads.delete(WEP_KEY);
    t.wep(S.OBJECT_STATE_REMOVED);
    t.wep(S.OBJECT_STATE_PROGRAMMED); // late status for a removed endpoint: ignored
    expect(t.summary()).toEqual(["workloadEndpointStatusUpdate:up", "workloadEndpointStatusUpdate:down", "workloadEndpointStatusRemove"]);
  });

  test("Felix's own removal withdraws at once, and only what was reported", () => {
    const t = setup();
    t.reporter.workloadRemoved(WEP_KEY);
    expect(t.sent).toHaveLength(0);
    t.wep(S.OBJECT_STATE_PROGRAMMED);
    t.reporter.workloadRemoved(WEP_KEY);
    expect(t.summary()).toEqual(["workloadEndpointStatusUpdate:up", "workloadEndpointStatusRemove"]);
  });

  test("host endpoints: up, error, down and remove", () => {
    const t = setup();
    t.hep(S.OBJECT_STATE_PROGRAMMED);
    t.hep(S.OBJECT_STATE_ERROR);
    t.hep(S.OBJECT_STATE_DOWN);
    t.hosts.delete("eth0-hep");
    t.hep(S.OBJECT_STATE_REMOVED);
    expect(t.summary()).toEqual(["hostEndpointStatusUpdate:up", "hostEndpointStatusUpdate:error", "hostEndpointStatusUpdate:down", "hostEndpointStatusRemove"]);
  });

  test("a rejected endpoint is down; one whose id is incomplete gets no status at all", () => {
    const t = setup();
    t.reporter.workloadRejected(WEP_KEY, WEP_ID, undefined, "bad mac");
    t.reporter.workloadRejected("k8s//eth0", { orchestratorId: "k8s", workloadId: "", endpointId: "eth0" }, undefined, "no workload id");
    expect(t.summary()).toEqual(["workloadEndpointStatusUpdate:down"]);
    t.reporter.reset();
    t.reporter.workloadRejected(WEP_KEY, WEP_ID, undefined, "bad mac");
    expect(t.sent).toHaveLength(2); // a new connection hears it again
  });
});
