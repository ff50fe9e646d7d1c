import { ValidationError } from "@ptables/api";
import { felix } from "@ptables/proto";
import { encodeFelixFrame } from "@ptables/testkit";
import {
  dataplaneInSync,
  encodeFromDataplaneFrame,
  felixTimestamp,
  hostEndpointStatusRemove,
  hostEndpointStatusUpdate,
  processStatusUpdate,
  workloadEndpointStatusRemove,
  workloadEndpointStatusUpdate,
} from "./status";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const WEP_ID = { orchestratorId: "k8s", workloadId: "default/pod1", endpointId: "eth0" };

describe("FromDataplane builders", () => {
  test("process status: the worked example of felix-protocol.md §1.3, byte for byte", () => {
    const msg = { ...processStatusUpdate("2026-01-01T00:00:00Z", 12.5), sequenceNumber: 1n };
    expect(hex(encodeFromDataplaneFrame(msg))).toBe(
      "2300000000000000" + "4001" + "1a1f" + "0a14" + "323032362d30312d30315430303a30303a30305a" + "11" + "0000000000002940",
    );
  });

  test("workload endpoint status: the worked example, byte for byte", () => {
    expect(hex(encodeFromDataplaneFrame(workloadEndpointStatusUpdate(WEP_ID, "up")))).toBe(
      "2300000000000000" + "3221" + "0a19" + "12036b3873" + "1a0c64656661756c742f706f6431" + "220465746830" + "1204" + "0a027570",
    );
  });

  test("every builder agrees with the independent schema encoder", () => {
    const endpoint = felix.WorkloadEndpoint.fromPartial({ state: "active", name: "cali1", ipv4Nets: ["10.0.0.1/32"] });
    const pairs: Array<[felix.FromDataplane, Record<string, unknown>]> = [
      [
        workloadEndpointStatusUpdate(WEP_ID, "down", endpoint),
        {
          workload_endpoint_status_update: {
            id: { orchestrator_id: "k8s", workload_id: "default/pod1", endpoint_id: "eth0" },
            status: { status: "down" },
            endpoint: { state: "active", name: "cali1", ipv4_nets: ["10.0.0.1/32"] },
          },
        },
      ],
      [workloadEndpointStatusRemove(WEP_ID), { workload_endpoint_status_remove: { id: { orchestrator_id: "k8s", workload_id: "default/pod1", endpoint_id: "eth0" } } }],
      [hostEndpointStatusUpdate({ endpointId: "hep1" }, "error"), { host_endpoint_status_update: { id: { endpoint_id: "hep1" }, status: { status: "error" } } }],
      [hostEndpointStatusRemove({ endpointId: "hep1" }), { host_endpoint_status_remove: { id: { endpoint_id: "hep1" } } }],
      [dataplaneInSync(), { dataplane_in_sync: {} }],
    ];
    for (const [built, plain] of pairs) {
      expect(hex(encodeFromDataplaneFrame(built))).toBe(hex(encodeFelixFrame("FromDataplane", plain)));
    }
  });

  test("id and status are always filled, or the builder refuses", () => {
    expect(() => workloadEndpointStatusUpdate({ ...WEP_ID, endpointId: "" }, "up")).toThrow(ValidationError);
    expect(() => hostEndpointStatusUpdate({ endpointId: "" }, "up")).toThrow("host endpoint status id: needs endpoint_id");
    expect(() => hostEndpointStatusUpdate({ endpointId: "h" }, "sideways" as never)).toThrow('"sideways" is not up, down, error');
    expect(() => workloadEndpointStatusUpdate(WEP_ID, "error" as never)).toThrow(ValidationError);
    expect(() => processStatusUpdate("x", -1)).toThrow("is not a non-negative number of seconds");
  });

  test("felixTimestamp is RFC 3339 UTC to the second", () => {
    expect(felixTimestamp(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)))).toBe("2026-01-02T03:04:05Z");
  });
});
