/**
 * privileged: opening the datapath: owner and reader roles on the same pins, clear failures
 * (no pins yet, incompatible pins, bad options) that leave nothing behind, and the bpf
 * filesystem mounted when the directory is not on one. No interface is touched here.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmdirSync, statfsSync } from "node:fs";
import { basename } from "node:path";
import { DropReason } from "@ptables/api";
import { EbpfBackend } from "./ebpf-backend";
import { check } from "./native/bpf-error";
import { removeBpfDir } from "./native/bpffs";
import { libBpf, libC } from "./native/native-libs";
import { ensureBpfObject } from "./testing/bpf-object-build";
import { compiledRule, denyRule } from "./testing/compiled-rule";
import { uniqueBpfDir } from "./testing/test-bpf-dir";
import { TestRunHarness } from "./testing/test-run-harness";

const SMALL = { members: 1024, portSets: 256, rules: 1024, endpoints: 16, conntrack: 1024, counters: 1024, frags: 16 };
const objectPath = ensureBpfObject();

describe("privileged: owner and readers", () => {
  let h: TestRunHarness;
  beforeAll(async () => {
    h = await TestRunHarness.open();
  });
  afterAll(async () => {
    await h?.close();
  });

  test("a reader sees the owner's maps and can change the ARP settings, but cannot attach", async () => {
    await h.program(7, [compiledRule({ counterId: 77n }), denyRule()]);
    await h.members(8, ["10.0.0.0/8"]);
    const reader = new EbpfBackend({ bpfDir: h.bpfDir, role: "reader" });
    await reader.open();
    try {
      expect(await reader.tables.rules.loadAll()).toEqual(await h.backend.tables.rules.loadAll());
      expect(await reader.tables.setMembers.loadAll()).toHaveLength(1);
      reader.arpConfig.set({ gatewayIp: "169.254.9.9" });
      expect(h.backend.arpConfig.get().gatewayIp).toBe("169.254.9.9");
      expect(await reader.readDropCounters()).toEqual(await h.backend.readDropCounters());
      const errors = await reader.tables.endpoints.applyBatch(
        [[{ ifname: "lo" }, { ingressProgram: 7, egressProgram: 7, flags: 0, ingressLength: 2, egressLength: 2 }]],
        [],
      );
      expect(errors).toEqual([{ index: 0, op: "upsert", message: expect.stringMatching(/needs the owner role/) }]);
      expect(await h.backend.tables.endpoints.loadAll()).toEqual([]);
      expect(() => reader.programFds()).toThrow(/only the owner/);
      await expect(reader.cleanup()).rejects.toThrow(/only the owner/);
    } finally {
      h.backend.arpConfig.set({ gatewayIp: "169.254.1.1" });
      await reader.close();
    }
  });

  test("counters of deleted rules go once no rule uses them; a rewrite keeps them", async () => {
    h.endpoint(1, { ingressProgram: 7, egressProgram: 7, flags: 0, ingressLength: 2, egressLength: 2 });
    const { ethPacket } = await import("./testing/packets");
    h.run("from", ethPacket({ src: "10.0.0.1", dst: "10.0.0.2", proto: "udp", srcPort: 1, dstPort: 2 }));
    expect((await h.ruleCounter(77n))?.packets).toBe(1n);
    // The same rule written into another program slot, then the old slot deleted: counter kept.
    await h.program(8, [compiledRule({ counterId: 77n }), denyRule()]);
    await h.backend.tables.rules.applyBatch([], [{ programId: 7, index: 0 }, { programId: 7, index: 1 }]);
    expect((await h.ruleCounter(77n))?.packets).toBe(1n);
    await h.backend.tables.rules.applyBatch([], [{ programId: 8, index: 0 }]);
    expect(await h.ruleCounter(77n)).toBeUndefined();
    expect(await h.dropPackets(DropReason.None)).toBe(0n);
  });
});

describe("privileged: opening fails clearly and leaves nothing behind", () => {
  test("a reader before any owner", async () => {
    const bpfDir = uniqueBpfDir();
    await expect(new EbpfBackend({ bpfDir, role: "reader" }).open()).rejects.toThrow(/no such pinned map; the policy programmer .* has not loaded the datapath/);
    expect(existsSync(bpfDir)).toBe(false);
  });

  test("pinned maps of an incompatible layout", async () => {
    const bpfDir = uniqueBpfDir();
    mkdirSync(bpfDir);
    try {
      // A pt_rules of the wrong value size, as an older or newer ptables might have left.
      const create = (await import("koffi")).default.load("libbpf.so.1").func("int bpf_map_create(int type, const char *name, uint32_t ks, uint32_t vs, uint32_t max, void *opts)");
      const fd = check(create(1, "pt_rules", 8, 100, 16, null) as number, "create map");
      check(libBpf().bpf_obj_pin(fd, `${bpfDir}/pt_rules`), "pin");
      libC().close(fd);
      await expect(new EbpfBackend({ bpfDir, objectPath, mapSizes: SMALL }).open()).rejects.toThrow(
        /pt_rules is pinned as type 1 key 8 value 100 flags 0, this object needs type 1 key 8 value 208 flags 1.*ptables cleanup/,
      );
      expect(readdirSync(bpfDir)).toEqual(["pt_rules"]);
    } finally {
      removeBpfDir(bpfDir);
    }
  });

  test("bad options", () => {
    expect(() => new EbpfBackend({ role: "boss" as never })).toThrow(/role "boss"/);
    expect(() => new EbpfBackend({ maxRulesPerProgram: 0 })).toThrow(/maxRulesPerProgram 0/);
    expect(() => new EbpfBackend({ mapSizes: { rules: -1 } })).toThrow(/mapSizes.rules -1/);
  });

  test("a missing object file", async () => {
    const bpfDir = uniqueBpfDir();
    try {
      await expect(new EbpfBackend({ bpfDir, objectPath: "/nonexistent/ptables.bpf.o" }).open()).rejects.toThrow(/open \/nonexistent\/ptables.bpf.o: No such file or directory \(2\)/);
      expect(existsSync(bpfDir)).toBe(false);
    } finally {
      removeBpfDir(bpfDir);
    }
  });

  test("tables before open", async () => {
    await expect(new EbpfBackend().tables.rules.loadAll()).rejects.toThrow(/not open; call open\(\) first/);
  });
});

describe("privileged: the bpf filesystem", () => {
  test("a directory that is not on a bpffs gets one mounted, and cleanup unmounts it", async () => {
    const bpfDir = `/tmp/${basename(uniqueBpfDir())}-bpffs`;
    mkdirSync(bpfDir, { recursive: true });
    const backend = new EbpfBackend({ bpfDir, objectPath, mapSizes: SMALL });
    try {
      await backend.open();
      expect(statfsSync(bpfDir).type).toBe(0xcafe4a11);
      expect(readdirSync(bpfDir)).toContain("pt_prog_from_ep");
      await backend.close();
      removeBpfDir(bpfDir);
      expect(existsSync(bpfDir)).toBe(false);
    } finally {
      await backend.close();
      if (existsSync(bpfDir)) {
        if (statfsSync(bpfDir).type === 0xcafe4a11) execFileSync("umount", [bpfDir]);
        rmdirSync(bpfDir);
      }
    }
  });
});
