import { PassThrough } from "node:stream";
import type { Flow } from "@ptables/api";
import { createLogger, defaultConfig } from "@ptables/runtime";
import type { FastPath } from "./fast-path";
import { FlowAger, type FlowTable } from "./flow-ager";
import { flowClass } from "./flow-classes";
import { FlowLog } from "./flow-log";

/** A logger whose lines go nowhere (the assertions look at state, not at logs). */
function quietLogger() {
  return createLogger({ component: "t", stream: new PassThrough().resume() });
}

const S = 1_000_000_000n;

/** A flow table held in memory, as a datapath would fill it. */
class MemoryFlowTable implements FlowTable {
  flows = new Map<string, Flow>();
  deleted: Flow[] = [];
  failNext = false;
  add(f: Flow): void {
    this.flows.set(`${f.ifname}|${f.proto}|${f.srcIp}|${f.srcPort}|${f.dstIp}|${f.dstPort}`, f);
  }
  async listFlows(limit: number): Promise<Flow[]> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error("map read failed");
    }
    return [...this.flows.values()].slice(0, limit);
  }
  async deleteFlows(flows: Flow[]): Promise<number> {
    let n = 0;
    for (const f of flows) {
      for (const [k, v] of this.flows) {
        if (v === f) {
          this.flows.delete(k);
          this.deleted.push(f);
          n++;
        }
      }
    }
    return n;
  }
}

function flow(over: Partial<Flow>): Flow {
  return { ifname: "cali1", family: 4, proto: 6, srcIp: "10.0.0.1", dstIp: "10.0.0.2", srcPort: 40000, dstPort: 80, state: "established", createdNs: 0n, lastSeenNs: 0n, packets: 1n, bytes: 60n, ...over };
}

function setup(maxPerSec = 100) {
  const table = new MemoryFlowTable();
  let now = 0n;
  let wallMs = 0;
  const lines: Array<Record<string, unknown>> = [];
  const stream = new PassThrough();
  stream.on("data", (c: Buffer) => lines.push(...c.toString().split("\n").filter(Boolean).map((l) => JSON.parse(l))));
  const flowLogger = createLogger({ component: "flow-log", format: "json", stream });
  const offered: Flow[] = [];
  const withdrawn: Flow[] = [];
  const fastPath: FastPath = { name: "recording", offer: async (f) => (offered.push(f), true), withdraw: async (f) => void withdrawn.push(f) };
  const ager = new FlowAger({
    table,
    timeouts: defaultConfig().flowTimeouts,
    flowLog: new FlowLog(flowLogger, maxPerSec, () => wallMs),
    logger: quietLogger(),
    fastPath,
    nowNs: () => now,
  });
  return { table, ager, lines, offered, withdrawn, at: (secs: bigint) => (now = secs * S), wall: (ms: number) => (wallMs = ms) };
}

describe("flowClass", () => {
  test("TCP established is long-lived; other TCP states, UDP, ICMP and the rest have their own class", () => {
    expect(flowClass({ proto: 6, state: "established" })).toBe("tcpEstablished");
    for (const state of ["syn-sent", "syn-recv", "fin-wait", "closed"]) expect(flowClass({ proto: 6, state })).toBe("tcpTransient");
    expect(flowClass({ proto: 17, state: "udp" })).toBe("udp");
    expect(flowClass({ proto: 1, state: "icmp" })).toBe("icmp");
    expect(flowClass({ proto: 58, state: "icmp" })).toBe("icmp");
    expect(flowClass({ proto: 47, state: "other" })).toBe("other");
  });
});

describe("FlowAger", () => {
  test("flows present at start are adopted, later ones are new and logged", async () => {
    const t = setup();
    t.table.add(flow({ srcPort: 1 }));
    t.at(1n);
    await t.ager.scan();
    expect(t.ager.snapshot()).toMatchObject({ active: 1, adopted: 1, created: 0 });
    expect(t.lines).toHaveLength(0);
    t.table.add(flow({ srcPort: 2, proto: 17, state: "udp", createdNs: 1n * S, lastSeenNs: 1n * S }));
    await t.ager.scan();
    expect(t.ager.snapshot()).toMatchObject({ active: 2, created: 1, byProtocol: { tcp: 1, udp: 1 }, byState: { established: 1, udp: 1 } });
    expect(t.lines).toEqual([expect.objectContaining({ event: "flow-start", proto: "udp", src: "10.0.0.1:2", dst: "10.0.0.2:80", packets: "1" })]);
    expect(t.offered.map((f) => f.srcPort)).toEqual([2]);
  });

  test("each class expires after its own idle timeout", async () => {
    const t = setup();
    t.table.add(flow({ srcPort: 1, state: "established", lastSeenNs: 0n }));
    t.table.add(flow({ srcPort: 2, state: "syn-sent", lastSeenNs: 0n }));
    t.table.add(flow({ srcPort: 3, proto: 17, state: "udp", lastSeenNs: 0n }));
    t.table.add(flow({ srcPort: 4, proto: 1, state: "icmp", lastSeenNs: 0n }));
    const ports = () => [...t.table.flows.values()].map((f) => f.srcPort).sort();
    t.at(10n);
    await t.ager.scan();
    expect(ports()).toEqual([1, 2, 3, 4]); // 10 s idle: nothing is past its timeout yet
    t.at(11n);
    await t.ager.scan();
    expect(ports()).toEqual([1, 2, 3]); // ICMP (10 s)
    t.at(31n);
    await t.ager.scan();
    expect(ports()).toEqual([1, 3]); // TCP opening/closing (30 s)
    t.at(61n);
    await t.ager.scan();
    expect(ports()).toEqual([1]); // UDP (60 s)
    t.at(3601n);
    await t.ager.scan();
    expect(ports()).toEqual([]); // TCP established (3600 s)
    expect(t.ager.snapshot()).toMatchObject({ active: 0, expired: 4 });
    expect(t.lines.filter((l) => l.event === "flow-end")).toHaveLength(4);
    expect(t.withdrawn.map((f) => f.srcPort).sort()).toEqual([1, 2, 3, 4]);
  });

  test("a flow seen recently is kept however old it is", async () => {
    const t = setup();
    t.table.add(flow({ proto: 1, state: "icmp", createdNs: 0n, lastSeenNs: 995n * S }));
    t.at(1000n);
    await t.ager.scan();
    expect(t.table.flows.size).toBe(1);
  });

  test("flow logs are bounded per second and the excess is counted", async () => {
    const t = setup(2);
    t.at(0n);
    await t.ager.scan();
    for (let p = 1; p <= 5; p++) t.table.add(flow({ srcPort: p }));
    await t.ager.scan();
    expect(t.lines).toHaveLength(2);
    t.wall(1500);
    t.table.add(flow({ srcPort: 6 }));
    await t.ager.scan();
    expect(t.lines.filter((l) => l.event === "flow-start")).toHaveLength(3);
    expect(t.lines).toContainEqual(expect.objectContaining({ message: "flow-log lines suppressed by the rate limit", suppressed: 3 }));
  });

  test("a failing scan is counted and does not throw", async () => {
    const t = setup();
    t.table.failNext = true;
    expect(await t.ager.scan()).toBeUndefined();
    expect(t.ager.snapshot().failedScans).toBe(1);
    expect(t.ager.lastError).toBe("map read failed");
    expect(await t.ager.scan()).toBeDefined();
    expect(t.ager.lastError).toBeUndefined();
  });
});
