/** The worked frames of felix-protocol.md §1.3, as Felix writes them, through the whole read path. */
import { IpSetType } from "@ptables/api";
import { decodeToDataplane } from "./decode";
import { FrameReader } from "./framing";
import { DesiredStateStore } from "./store";

const frames = (hexText: string) => {
  const reader = new FrameReader();
  const out = reader.push(Buffer.from(hexText.replace(/\s+/g, ""), "hex"));
  reader.end();
  return out;
};

describe("felix-protocol.md §1.3 worked examples", () => {
  test("ConfigUpdate (seq 0), ipset_update (seq 2) and in_sync (seq 5) in Go >= v3.30 order", () => {
    const stream = [
      "1d00000000000000 6a1b 0a19 0a11 4c6f67536576657269747953637265656e 1204 496e666f",
      "1a00000000000000 7802 1216 0a05 733a616263 120b 31302e302e302e312f3332 1802",
      "0400000000000000 7805 0a00",
    ].join("");
    const store = new DesiredStateStore();
    const decoded = frames(stream).map(decodeToDataplane);
    expect(decoded.map((m) => [m.sequenceNumber, m.payload?.$case])).toEqual([
      [0n, "configUpdate"],
      [2n, "ipsetUpdate"],
      [5n, "inSync"],
    ]);
    expect(decoded[0].payload?.value).toEqual({ message: "", config: { LogSeverityScreen: "Info" }, sourceToRawConfig: {} });
    const results = decoded.map((m) => store.apply(m));
    expect(results[0].changes).toEqual([]); // LogSeverityScreen does not touch the datapath config
    expect(results[1].changes).toEqual([{ change: { $case: "ipSet", value: { id: "s:abc", type: IpSetType.IP_SET_TYPE_NET, members: ["10.0.0.1/32"] } } }]);
    expect(results[2].inSync).toBe(true);
  });

  test("in_sync in gogo (<= v3.29) order: payload before the sequence number", () => {
    const [frame] = frames("0400000000000000 0a00 7805");
    const msg = decodeToDataplane(frame);
    expect(msg.sequenceNumber).toBe(5n);
    expect(msg.payload).toEqual({ $case: "inSync", value: {} });
  });

  test("a frame that does not decode is a FrameError at its offset", () => {
    // The second frame's payload claims 5 bytes but the frame holds 2 of them.
    const [, bad] = frames("0400000000000000 7805 0a00" + "0400000000000000 0a05 0801");
    expect(() => decodeToDataplane(bad)).toThrow(/^frame at offset 12 does not decode as felix.ToDataplane: premature EOF$/);
  });
});
