/** privileged: the gateway ARP responder in the kernel, through BPF_PROG_TEST_RUN. */
import { arpPacket } from "./testing/packets";
import { TC_ACT_OK, TC_ACT_REDIRECT, TestRunHarness } from "./testing/test-run-harness";

const POD_MAC = "0a:58:0a:41:00:02";
const POD = "10.65.0.2";

let h: TestRunHarness;

beforeAll(async () => {
  h = await TestRunHarness.open();
});

afterAll(async () => {
  await h?.close();
});

describe("privileged: ARP responder", () => {
  test("a request for the gateway is answered in place and redirected back out", () => {
    const request = arpPacket({ op: 1, senderMac: POD_MAC, senderIp: POD, targetIp: "169.254.1.1" });
    const result = h.run("from", request);
    expect(result.retval).toBe(TC_ACT_REDIRECT);
    // Exactly the reply a host would send: to the pod's MAC, from ee:ee:ee:ee:ee:ee.
    const expected = Buffer.from(
      [
        "0a580a410002", // eth dst: the requester
        "eeeeeeeeeeee", // eth src: the gateway MAC
        "0806", // ARP
        "0001", "0800", "06", "04", "0002", // Ethernet/IPv4, reply
        "eeeeeeeeeeee", "a9fe0101", // sender: gateway MAC, 169.254.1.1
        "0a580a410002", "0a410002", // target: the pod
      ].join(""),
      "hex",
    );
    expect(result.data.subarray(0, 42).toString("hex")).toBe(expected.toString("hex"));
  });

  test("other ARP passes unchanged: other targets, probes, announcements, replies, the other hook", () => {
    const cases = [
      arpPacket({ op: 1, senderMac: POD_MAC, senderIp: POD, targetIp: "10.65.0.1" }),
      arpPacket({ op: 1, senderMac: POD_MAC, senderIp: "0.0.0.0", targetIp: "169.254.1.1" }),
      arpPacket({ op: 1, senderMac: POD_MAC, senderIp: "169.254.1.1", targetIp: "169.254.1.1" }),
      arpPacket({ op: 2, senderMac: POD_MAC, senderIp: POD, targetMac: "ee:ee:ee:ee:ee:ee", targetIp: "169.254.1.1" }),
    ];
    for (const packet of cases) {
      const result = h.run("from", packet);
      expect(result.retval).toBe(TC_ACT_OK);
      expect(result.data.subarray(0, packet.length).equals(packet)).toBe(true);
    }
    const request = arpPacket({ op: 1, senderMac: POD_MAC, senderIp: POD, targetIp: "169.254.1.1" });
    expect(h.run("to", request).retval).toBe(TC_ACT_OK);
  });

  test("ArpConfig changes the gateway, the MAC, and switches the responder off", () => {
    expect(h.backend.arpConfig.get()).toEqual({ gatewayIp: "169.254.1.1", gatewayMac: "ee:ee:ee:ee:ee:ee", enabled: true });
    h.backend.arpConfig.set({ gatewayIp: "10.65.0.1", gatewayMac: "02:AA:BB:CC:DD:EE" });
    try {
      const result = h.run("from", arpPacket({ op: 1, senderMac: POD_MAC, senderIp: POD, targetIp: "10.65.0.1" }));
      expect(result.retval).toBe(TC_ACT_REDIRECT);
      expect(result.data.subarray(6, 12).toString("hex")).toBe("02aabbccddee");
      expect(result.data.subarray(28, 32).toString("hex")).toBe("0a410001");
      h.backend.arpConfig.set({ enabled: false });
      expect(h.run("from", arpPacket({ op: 1, senderMac: POD_MAC, senderIp: POD, targetIp: "10.65.0.1" })).retval).toBe(TC_ACT_OK);
    } finally {
      h.backend.arpConfig.set({ gatewayIp: "169.254.1.1", gatewayMac: "ee:ee:ee:ee:ee:ee", enabled: true });
    }
  });

  test("bad settings are rejected before anything is written", () => {
    expect(() => h.backend.arpConfig.set({ gatewayIp: "fd00::1" })).toThrow(/gatewayIpv4 "fd00::1" is not an IPv4 address/);
    expect(() => h.backend.arpConfig.set({ gatewayMac: "ee:ee" })).toThrow(/MAC "ee:ee" is not/);
    expect(h.backend.arpConfig.get().gatewayIp).toBe("169.254.1.1");
  });
});
