/**
 * The TypeScript layouts against the compiled object's BTF (bpftool btf dump ... format raw):
 * every struct's size and every field's offset, the fixed array lengths, and the drop reasons.
 */
import { execFileSync } from "node:child_process";
import { DROP_REASON_NAMES } from "@ptables/api";
import { ensureBpfObject } from "../testing/bpf-object-build";
import { SCRATCH_SIZE } from "../datapath/names";
import { ALL_LAYOUTS, CT_STATE_COUNT, DROP_REASON_SLOTS, MAX_SET_REFS_C, RULE } from "./layouts";

interface BtfType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  nrElems?: number;
  members: Array<{ name: string; typeId: number; bitsOffset: number; val?: number }>;
}

function parseBtf(text: string): Map<number, BtfType> {
  const types = new Map<number, BtfType>();
  let current: BtfType | undefined;
  for (const line of text.split("\n")) {
    const head = /^\[(\d+)\] (\w+) '([^']*)'(.*)$/.exec(line);
    if (head) {
      const rest = head[4]!;
      current = {
        id: Number(head[1]),
        kind: head[2]!,
        name: head[3]!,
        size: /size=(\d+)/.exec(rest) ? Number(/size=(\d+)/.exec(rest)![1]) : undefined,
        nrElems: /nr_elems=(\d+)/.exec(rest) ? Number(/nr_elems=(\d+)/.exec(rest)![1]) : undefined,
        members: [],
      };
      types.set(current.id, current);
      continue;
    }
    const member = /^\s+'([^']+)' type_id=(\d+) bits_offset=(\d+)/.exec(line);
    if (member && current) {
      current.members.push({ name: member[1]!, typeId: Number(member[2]), bitsOffset: Number(member[3]) });
      continue;
    }
    const value = /^\s+'([^']+)' val=(-?\d+)/.exec(line);
    if (value && current) current.members.push({ name: value[1]!, typeId: 0, bitsOffset: 0, val: Number(value[2]) });
  }
  return types;
}

const btf = parseBtf(execFileSync("bpftool", ["btf", "dump", "file", ensureBpfObject(), "format", "raw"], { encoding: "utf8" }));
const byName = (kind: string, name: string) => [...btf.values()].find((t) => t.kind === kind && t.name === name);

describe("struct layouts match the compiled object's BTF", () => {
  test.each(ALL_LAYOUTS.map((l) => [l.name, l] as const))("%s", (_name, layout) => {
    const struct = byName("STRUCT", layout.name);
    expect(struct).toBeDefined();
    expect(struct!.size).toBe(layout.size);
    const fromBtf = Object.fromEntries(struct!.members.map((m) => [m.name, m.bitsOffset / 8]));
    expect(fromBtf).toEqual(layout.fields);
  });

  test("array lengths and enum values the codecs rely on", () => {
    const rule = byName("STRUCT", RULE.name)!;
    const srcSets = rule.members.find((m) => m.name === "src_sets")!;
    expect(btf.get(srcSets.typeId)!.nrElems).toBe(MAX_SET_REFS_C);
    const config = byName("STRUCT", "pt_config")!;
    expect(btf.get(config.members.find((m) => m.name === "timeouts_ns")!.typeId)!.nrElems).toBe(CT_STATE_COUNT);
    const reasons = byName("ENUM", "pt_drop_reason")!;
    const values = Object.fromEntries(reasons.members.map((m) => [m.name, m.val]));
    expect(values.PT_DROP_REASON_SLOTS).toBe(DROP_REASON_SLOTS);
    // Every DropReason of the API has the same number in C (names differ only in style).
    for (const [value, name] of Object.entries(DROP_REASON_NAMES)) {
      const cName = `PT_DROP_${name.toUpperCase().replace(/-/g, "_")}`;
      expect([cName, values[cName]]).toEqual([cName, Number(value)]);
    }
  });

  test("the scratch map's value size", () => {
    expect(byName("STRUCT", "pt_scratch")!.size).toBe(SCRATCH_SIZE);
  });
});
