/**
 * The PolicyProgrammer gRPC service over a real Unix socket (served by runtime's
 * startAgentServer, as in the daemon): Sync streams, Trace and State.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { sync } from "@ptables/proto";
import { createPeerClient, startAgentServer, type AgentServer } from "@ptables/runtime";
import { Programmer } from "./programmer";
import { PolicyProgrammerService } from "./service";
import { deltaOf, snapshotOf, WEP } from "./testing/fixtures";
import { RecordingBackend } from "./testing/recording-backend";
import { STATES } from "./testing/states";

const web = STATES.web!.state;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Reads a duplex stream's responses and its end status one at a time. */
class StreamReader {
  private readonly queue: sync.SyncResponse[] = [];
  private waiting: Array<() => void> = [];
  ended: grpc.StatusObject | grpc.ServiceError | undefined;

  constructor(readonly stream: grpc.ClientDuplexStream<sync.SyncRequest, sync.SyncResponse>) {
    stream.on("data", (r: sync.SyncResponse) => this.push(() => this.queue.push(r)));
    stream.on("error", (e: grpc.ServiceError) => this.push(() => (this.ended = e)));
    stream.on("status", (s: grpc.StatusObject) => this.push(() => (this.ended ??= s)));
  }

  private push(f: () => void): void {
    f();
    const w = this.waiting;
    this.waiting = [];
    w.forEach((r) => r());
  }

  private async until<T>(get: () => T | undefined): Promise<T> {
    for (;;) {
      const v = get();
      if (v !== undefined) return v;
      await new Promise<void>((r) => this.waiting.push(r));
    }
  }

  /** The next response with at least `version` applied. */
  async response(version: bigint): Promise<sync.SyncResponse> {
    return this.until(() => {
      while (this.queue.length) {
        const r = this.queue.shift()!;
        if (r.appliedVersion >= version) return r;
      }
      return this.ended ? (() => { throw new Error(`stream ended: ${this.ended!.details}`); })() : undefined;
    });
  }

  async end(): Promise<grpc.StatusObject | grpc.ServiceError> {
    return this.until(() => this.ended);
  }
}

describe("PolicyProgrammer service over a Unix socket", () => {
  let dir: string;
  let server: AgentServer;
  let service: PolicyProgrammerService;
  let backend: RecordingBackend;
  let client: sync.PolicyProgrammerClient;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-pp-"));
    backend = new RecordingBackend();
    service = new PolicyProgrammerService(new Programmer(backend), quiet);
    server = await startAgentServer({
      socketPath: path.join(dir, "run", "policy-programmer.sock"),
      agentName: "policy-programmer",
      version: "test",
      services: [{ name: "ptables.policy.v1.PolicyProgrammer", definition: sync.PolicyProgrammerService, implementation: service.implementation() }],
    });
    client = createPeerClient(sync.PolicyProgrammerClient, server.socketPath);
  });

  afterEach(async () => {
    client.close();
    await service.stop();
    await server.stop(100);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("Sync: a snapshot then a delta, each answered with the applied version and statuses", async () => {
    const reader = new StreamReader(client.sync());
    reader.stream.write({ msg: { $case: "snapshot", value: snapshotOf(web, 1n) } });
    const first = await reader.response(1n);
    expect(first.statuses.filter((s) => s.kind === WEP).map((s) => [s.id, s.state])).toEqual(
      expect.arrayContaining([
        ["k8s/default/pod1/eth0", sync.ObjectState.OBJECT_STATE_PROGRAMMED],
        ["k8s/default/pod2/eth0", sync.ObjectState.OBJECT_STATE_PROGRAMMED],
      ]),
    );
    expect(backend.tables.endpoints.entries.size).toBe(2);

    reader.stream.write({ msg: { $case: "delta", value: deltaOf(2n, [{ $case: "removeWorkloadEndpoint", value: "k8s/default/pod2/eth0" }]) } });
    const second = await reader.response(2n);
    expect(second.statuses).toEqual([{ kind: WEP, id: "k8s/default/pod2/eth0", state: sync.ObjectState.OBJECT_STATE_REMOVED, reason: "" }]);
    expect([...backend.tables.endpoints.entries.keys()]).toEqual(["cali1"]);
    reader.stream.end();
    expect((await reader.end()).code).toBe(grpc.status.OK);
  });

  test("Sync: a stream that starts with a delta is refused and programs nothing", async () => {
    const reader = new StreamReader(client.sync());
    reader.stream.write({ msg: { $case: "delta", value: deltaOf(1n, []) } });
    const end = await reader.end();
    expect(end.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(end.details).toBe("the first message on a Sync stream must be a snapshot");
    expect(backend.log).toEqual([]);
  });

  test("Sync: a snapshot without state is refused with a clear error", async () => {
    const reader = new StreamReader(client.sync());
    reader.stream.write({ msg: { $case: "snapshot", value: { version: 7n, inSync: true } } });
    const end = await reader.end();
    expect(end.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(end.details).toBe("sync: snapshot version 7: has no state");
  });

  test("Sync: a new stream replaces the old one, which is aborted", async () => {
    const old = new StreamReader(client.sync());
    old.stream.write({ msg: { $case: "snapshot", value: snapshotOf(web, 1n) } });
    await old.response(1n);
    const next = new StreamReader(client.sync());
    next.stream.write({ msg: { $case: "snapshot", value: snapshotOf(STATES.profileOnly!.state, 1n) } });
    const res = await next.response(1n);
    // The first response on a stream carries every status.
    expect(res.statuses.find((s) => s.id === "k8s/default/pod1/eth0")?.state).toBe(sync.ObjectState.OBJECT_STATE_PROGRAMMED);
    const end = await old.end();
    expect(end.code).toBe(grpc.status.ABORTED);
    expect([...backend.tables.endpoints.entries.keys()]).toEqual(["cali1"]);
    next.stream.end();
    await next.end();
  });

  function trace(req: Partial<sync.TraceRequest>): Promise<sync.TraceResponse> {
    return new Promise((resolve, reject) => client.trace(sync.TraceRequest.fromPartial(req), (err, res) => (err ? reject(err) : resolve(res))));
  }

  async function programWeb(): Promise<void> {
    const reader = new StreamReader(client.sync());
    reader.stream.write({ msg: { $case: "snapshot", value: snapshotOf(web, 1n) } });
    await reader.response(1n);
    reader.stream.end();
    await reader.end();
  }

  test("Trace: the reference verdict with the deciding policy rule", async () => {
    await programWeb();
    const allowed = await trace({ endpoint: "cali1", direction: "ingress", srcIp: "10.0.1.1", dstIp: "10.65.0.1", protocol: 6, srcPort: 40000, dstPort: 80 });
    expect(allowed).toMatchObject({ verdict: "allow", tier: "default", policy: "GlobalNetworkPolicy//web", ruleIndex: 0, reason: "allow" });
    const denied = await trace({ endpoint: "k8s/default/pod1/eth0", direction: "ingress", srcIp: "10.0.9.9", dstIp: "10.65.0.1", protocol: 6, srcPort: 40000, dstPort: 80 });
    expect(denied).toMatchObject({ verdict: "deny", reason: "end-of-tier", tier: "default", ruleIndex: -1 });
    expect(denied.steps.length).toBeGreaterThan(0);
  });

  test("Trace: an unknown endpoint or a malformed packet is INVALID_ARGUMENT with a clear message", async () => {
    await programWeb();
    await expect(trace({ endpoint: "nope", direction: "ingress", srcIp: "10.0.0.1", dstIp: "10.0.0.2", protocol: 6 })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('unknown endpoint "nope"'),
    });
    await expect(trace({ endpoint: "cali1", direction: "ingress", srcIp: "10.0.0.300", dstIp: "10.0.0.2", protocol: 6 })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('srcIp "10.0.0.300" is not an IP address'),
    });
    await expect(trace({ endpoint: "cali1", direction: "ingress", srcIp: "10.0.0.1", dstIp: "fd00::1", protocol: 6 })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining("dstIp fd00::1 is not an IPv4 address"),
    });
    await expect(trace({ endpoint: "cali1", direction: "sideways", srcIp: "10.0.0.1", dstIp: "10.0.0.2" })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('"sideways" is not ingress or egress'),
    });
  });

  test("State: versions, statuses, backend and tables with per-rule counters", async () => {
    await programWeb();
    const programmer = service.programmer;
    const [counterId, owner] = [...programmer.counterOwners()].find(([, o]) => o.policy === "GlobalNetworkPolicy//web" && o.direction === "ingress")!;
    backend.counters.set(counterId, { packets: 7n, bytes: 700n });
    const res = await new Promise<sync.StateResponse>((resolve, reject) => client.state({ endpoint: "" }, (err, r) => (err ? reject(err) : resolve(r))));
    expect(res.appliedVersion).toBe(1n);
    expect(res.inSync).toBe(true);
    expect(res.backend).toBe("recording");
    expect(res.statuses.filter((s) => s.kind === WEP)).toHaveLength(2);
    const tables = JSON.parse(res.tablesJson);
    const cali1 = tables.interfaces.find((i: { ifname: string }) => i.ifname === "cali1");
    expect(cali1.endpoint).toBe("k8s/default/pod1/eth0");
    expect(cali1.ingress.rules).toBe(backend.tables.endpoints.entries.get("cali1")![1].ingressLength);
    expect(cali1.ingress.counters).toContainEqual(expect.objectContaining({ counterId: counterId.toString(), policy: owner.policy, ruleIndex: 0, packets: "7", bytes: "700" }));
  });

  function state(endpoint: string): Promise<sync.StateResponse> {
    return new Promise((resolve, reject) => client.state({ endpoint }, (err, r) => (err ? reject(err) : resolve(r))));
  }

  test("State for one endpoint: its tiers, policies and rules in order, each rule with its counters", async () => {
    await programWeb();
    const [counterId] = [...service.programmer.counterOwners()].find(([, o]) => o.policy === "GlobalNetworkPolicy//web" && o.direction === "ingress")!;
    backend.counters.set(counterId, { packets: 7n, bytes: 700n });
    for (const name of ["cali1", "k8s/default/pod1/eth0"]) {
      const view = JSON.parse((await state(name)).modelJson).endpoint;
      expect(view).toMatchObject({ kind: "workload", key: "k8s/default/pod1/eth0", ifname: "cali1", state: "programmed", adminUp: true });
      expect(view.ingress.programId).toEqual(expect.any(Number));
      expect(view.ingress.tiers).toEqual([
        {
          name: "default",
          defaultAction: "deny",
          policies: [
            {
              key: "GlobalNetworkPolicy//web",
              staged: false,
              missing: false,
              rules: [{ index: 0, action: "allow", match: "tcp from set s-web to port 80", ruleId: expect.any(String), packets: "7", bytes: "700" }],
            },
          ],
        },
      ]);
      expect(view.egress.tiers[0].policies[0].rules).toEqual([expect.objectContaining({ action: "allow", match: "any", packets: "0", bytes: "0" })]);
    }
  });

  test("State for the node: every endpoint in brief and the routes; an unknown endpoint is INVALID_ARGUMENT", async () => {
    await programWeb();
    const view = JSON.parse((await state("")).modelJson);
    expect(view.endpoints.map((e: { key: string; state: string }) => [e.key, e.state])).toEqual([
      ["k8s/default/pod1/eth0", "programmed"],
      ["k8s/default/pod2/eth0", "programmed"],
    ]);
    expect(view).toMatchObject({ routes: [], datapathRoutes: [] });
    await expect(state("cali-nope")).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('state: endpoint: unknown endpoint "cali-nope"') });
  });
});
