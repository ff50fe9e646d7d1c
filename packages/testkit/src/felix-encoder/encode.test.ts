import { felix } from "@ptables/proto";
import { encodeFelixFrame, encodeFelixMessage } from "./encode";
import { loadFelixSchema } from "./schema";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const unspaced = (text: string): string => text.replace(/\s+/g, "");

describe("encodeFelixMessage: the worked examples of felix-protocol.md §1.3", () => {
  test("ToDataplane{seq 5, in_sync{}} in Go and gogo order, with its frame prefix", () => {
    const msg = { sequence_number: 5, in_sync: {} };
    expect(hex(encodeFelixMessage("ToDataplane", msg))).toBe("78050a00");
    expect(hex(encodeFelixMessage("ToDataplane", msg, { order: "gogo" }))).toBe("0a007805");
    expect(hex(encodeFelixFrame("ToDataplane", msg))).toBe("0400000000000000" + "78050a00");
  });

  test("ToDataplane{seq 0, config_update{LogSeverityScreen: Info}}", () => {
    const frame = encodeFelixFrame("ToDataplane", { config_update: { config: { LogSeverityScreen: "Info" } } });
    expect(hex(frame)).toBe(unspaced("1d00000000000000 6a1b 0a19 0a11 4c6f67536576657269747953637265656e 1204 496e666f"));
  });

  test("ToDataplane{seq 2, ipset_update{s:abc, [10.0.0.1/32], NET}}", () => {
    const frame = encodeFelixFrame("ToDataplane", {
      sequence_number: 2,
      ipset_update: { id: "s:abc", members: ["10.0.0.1/32"], type: "NET" },
    });
    expect(hex(frame)).toBe(unspaced("1a00000000000000 7802 1216 0a05 733a616263 120b 31302e302e302e312f3332 1802"));
  });

  test("FromDataplane{seq 1, process_status_update}", () => {
    const frame = encodeFelixFrame("FromDataplane", {
      sequence_number: 1,
      process_status_update: { iso_timestamp: "2026-01-01T00:00:00Z", uptime: 12.5 },
    });
    expect(hex(frame)).toBe(
      unspaced("2300000000000000 4001 1a1f 0a14 323032362d30312d30315430303a30303a30305a 11 0000000000002940"),
    );
  });

  test("FromDataplane{seq 0, workload_endpoint_status_update}", () => {
    const frame = encodeFelixFrame("FromDataplane", {
      workload_endpoint_status_update: {
        id: { orchestrator_id: "k8s", workload_id: "default/pod1", endpoint_id: "eth0" },
        status: { status: "up" },
      },
    });
    expect(hex(frame)).toBe(
      unspaced("2300000000000000 3221 0a19 1203 6b3873 1a0c 64656661756c742f706f6431 2204 65746830 1204 0a02 7570"),
    );
  });
});

describe("encodeFelixMessage: field order", () => {
  const msg = { sequence_number: 7, ipam_pool_update: { id: "p", pool: { cidr: "10.0.0.0/16" } } };

  test("field-number order puts payloads numbered above 15 after the sequence number", () => {
    expect(hex(encodeFelixMessage("ToDataplane", msg, { order: "field-number" })).startsWith("7807")).toBe(true);
    const onePayload = { sequence_number: 7, in_sync: {} };
    expect(hex(encodeFelixMessage("ToDataplane", onePayload, { order: "field-number" }))).toBe("0a007807");
  });

  test("Go order writes a Rule's icmp oneof after rule_id; gogo writes it at its number", () => {
    const rule = { action: "allow", rule_id: "r1", icmp_type: 0 };
    const go = hex(encodeFelixMessage("Rule", rule));
    const gogo = hex(encodeFelixMessage("Rule", rule, { order: "gogo" }));
    // 0a05 "allow", ca0c02 "r1" (201 -> ca 0c), 4000 (icmp_type 0 is written: oneof member)
    expect(go).toBe("0a05616c6c6f77" + "ca0c027231" + "4000");
    expect(gogo).toBe("0a05616c6c6f77" + "4000" + "ca0c027231");
  });
});

describe("encodeFelixMessage: values", () => {
  test("zero values are omitted except oneof members, repeated entries and map entries", () => {
    expect(hex(encodeFelixMessage("Protocol", { number: 0 }))).toBe("0800");
    expect(hex(encodeFelixMessage("IPSetUpdate", { id: "", members: [""], type: "IP" }))).toBe("1200");
    expect(hex(encodeFelixMessage("HostMetadataUpdate", { labels: { a: "" } }))).toBe("2a05" + "0a0161" + "1200");
  });

  test("negative int32 is ten bytes of two's complement; enums take names or numbers", () => {
    expect(hex(encodeFelixMessage("PortRange", { first: -1 }))).toBe("08ffffffffffffffffff01");
    expect(hex(encodeFelixMessage("RouteUpdate", { types: 5 }))).toBe("6005");
    expect(hex(encodeFelixMessage("RouteUpdate", { types: "LOCAL_HOST" }))).toBe("6008");
  });

  test("maps with uint32 keys and message values", () => {
    const bytes = encodeFelixMessage("ConfigUpdate", { source_to_raw_config: { 5: { source: "env", config: {} } } });
    const decoded = felix.ConfigUpdate.decode(bytes);
    expect(decoded.sourceToRawConfig[5]).toEqual({ source: "env", config: {} });
  });

  test("the generated decoder reads back what the encoder wrote", () => {
    const bytes = encodeFelixMessage("ToDataplane", {
      sequence_number: "18446744073709551615",
      active_policy_update: {
        id: { name: "p1", namespace: "ns", kind: "NetworkPolicy" },
        policy: {
          tier: "default",
          inbound_rules: [
            { action: "deny", protocol: { name: "tcp" }, dst_ports: [{ first: 80, last: 81 }], icmp_type_code: { type: 3, code: 4 } },
          ],
        },
      },
    });
    const msg = felix.ToDataplane.decode(bytes);
    expect(msg.sequenceNumber).toBe(18446744073709551615n);
    expect(msg.payload?.$case).toBe("activePolicyUpdate");
    const policy = msg.payload?.$case === "activePolicyUpdate" ? msg.payload.value : undefined;
    expect(policy?.id).toEqual({ name: "p1", namespace: "ns", kind: "NetworkPolicy" });
    expect(policy?.policy?.inboundRules[0]).toMatchObject({
      action: "deny",
      protocol: { numberOrName: { $case: "name", value: "tcp" } },
      dstPorts: [{ first: 80, last: 81 }],
      icmp: { $case: "icmpTypeCode", value: { type: 3, code: 4 } },
    });
  });
});

describe("encodeFelixMessage: v3.32 host metadata", () => {
  test("payloads 35-38 are encoded with their legacy numbers", () => {
    const bytes = encodeFelixMessage("ToDataplane", { host_metadata_v6_update: { hostname: "n1", ipv6_addr: "fd00::1" } });
    expect(hex(bytes.subarray(0, 2))).toBe("9a02"); // (35 << 3) | 2 = 282
    const decoded = felix.ToDataplane.decode(bytes);
    expect(decoded.payload).toEqual({ $case: "hostMetadataV6Update", value: { hostname: "n1", ipv6Addr: "fd00::1" } });
  });

  test("legacy mode encodes host_metadata_update as the two-field v4-only message", () => {
    const v4only = { host_metadata_update: { hostname: "n1", ipv4_addr: "10.0.0.1", asnumber: "64512" } };
    expect(() => encodeFelixMessage("ToDataplane", v4only, { legacy: true })).toThrow(/has no field "asnumber"/);
    expect(encodeFelixMessage("ToDataplane", v4only).length).toBeGreaterThan(0);
  });
});

describe("encodeFelixMessage: bad input", () => {
  test.each([
    [{ nope: 1 }, /ToDataplane has no field "nope"/],
    [{ in_sync: {}, ipset_remove: { id: "x" } }, /both set in oneof payload/],
    [{ sequence_number: -1 }, /out of range for uint64/],
    [{ ipset_update: { type: "BOGUS" } }, /BOGUS is not a IPSetUpdate.IPSetType/],
    [{ ipset_update: { members: "10.0.0.1/32" } }, /expected an array/],
  ])("%j is refused", (msg, error) => {
    expect(() => encodeFelixMessage("ToDataplane", msg as Record<string, unknown>)).toThrow(error);
  });

  test("an unknown message type is refused", () => {
    expect(() => encodeFelixMessage("NoSuchMessage", {})).toThrow(/no message NoSuchMessage/);
  });

  test("every payload in the schema (new and legacy) decodes as the same payload in the generated code", () => {
    const schema = loadFelixSchema();
    const payloads = [...schema.messages.get("ToDataplane")!.fields.filter((f) => f.oneof === "payload"), ...schema.legacyPayloads];
    expect(payloads.length).toBe(39); // 33 current payloads + 6 legacy (14 and 18 again, 35-38)
    for (const field of payloads) {
      const decoded = felix.ToDataplane.decode(encodeFelixMessage("ToDataplane", { [field.name]: {} }, { legacy: true }));
      const camel = field.name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
      expect(decoded.payload?.$case).toBe(camel);
    }
  });
});
