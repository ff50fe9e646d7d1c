import { createAgentRegistry, sampledCounter, sampledGauge, samplesByLabel, single, snakeCase } from "./metrics";

describe("agent metrics", () => {
  test("each agent has its own registry: series never leak between agents in one process", async () => {
    const a = createAgentRegistry("a");
    const b = createAgentRegistry("b");
    sampledCounter({ registry: a, name: "ptables_a_things_total", help: "a", read: () => single(1) });
    expect(await a.getSingleMetricAsString("ptables_a_things_total")).toContain('ptables_a_things_total{agent="a"} 1');
    expect(b.getSingleMetric("ptables_a_things_total")).toBeUndefined();
  });

  test("a sampled counter shows the totals the agent keeps, read at scrape time", async () => {
    const registry = createAgentRegistry("t");
    const totals: Record<string, number> = { snapshot: 1 };
    sampledCounter({ registry, name: "ptables_t_syncs_total", help: "syncs", labelNames: ["type"], read: () => samplesByLabel("type", totals) });
    expect(await registry.getSingleMetricAsString("ptables_t_syncs_total")).toContain('ptables_t_syncs_total{type="snapshot",agent="t"} 1');
    totals.snapshot = 2;
    totals.delta = 40;
    const text = await registry.getSingleMetricAsString("ptables_t_syncs_total");
    expect(text).toContain('ptables_t_syncs_total{type="snapshot",agent="t"} 2');
    expect(text).toContain('ptables_t_syncs_total{type="delta",agent="t"} 40');
    expect(text).toContain("# TYPE ptables_t_syncs_total counter");
  });

  test("a sampled gauge drops label sets that are no longer reported", async () => {
    const registry = createAgentRegistry("t");
    let flows: Record<string, number> = { tcp: 3, udp: 1 };
    sampledGauge({ registry, name: "ptables_t_flows", help: "flows", labelNames: ["protocol"], read: async () => samplesByLabel("protocol", flows) });
    expect(await registry.getSingleMetricAsString("ptables_t_flows")).toContain('ptables_t_flows{protocol="udp",agent="t"} 1');
    flows = { tcp: 2 };
    const text = await registry.getSingleMetricAsString("ptables_t_flows");
    expect(text).toContain('ptables_t_flows{protocol="tcp",agent="t"} 2');
    expect(text).not.toContain("udp");
  });

  test("snakeCase turns protobuf oneof names into label values", () => {
    expect(snakeCase("workloadEndpointUpdate")).toBe("workload_endpoint_update");
    expect(snakeCase("ipSetDeltaUpdate")).toBe("ip_set_delta_update");
    expect(snakeCase("inSync")).toBe("in_sync");
    expect(snakeCase("none")).toBe("none");
  });
});
