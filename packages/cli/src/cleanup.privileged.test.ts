/**
 * privileged: `ptables cleanup` (the built CLI) against a real eBPF datapath in a network
 * namespace this test creates: an endpoint programmed with tc filters and pinned maps, then the
 * command, run inside the namespace, removes both. Needs root.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { testing as ebpfTesting } from "@ptables/backend-ebpf";

const isRoot = process.getuid?.() === 0;
const describeIfRoot = isRoot ? describe : describe.skip;

const tag = String(process.pid % 100000);
const ns = `ptcl-${tag}`;
const link = `ptcl${tag}a`;
const bpfDir = ebpfTesting.uniqueBpfDir();
const PTABLES_BIN = path.resolve(__dirname, "../bin/ptables.js");

/** ptables' tc filters on the test link, as `tc` lists them in the namespace. */
function tcFilters(hook: "ingress" | "egress"): string {
  return execFileSync("ip", ["netns", "exec", ns, "tc", "filter", "show", "dev", link, hook], { encoding: "utf8" }).trim();
}

describeIfRoot("privileged: ptables cleanup", () => {
  let runDir: string;
  beforeAll(() => {
    if (!fs.existsSync(path.resolve(__dirname, "../dist/main.js"))) throw new Error('the CLI is not built: run "npx tsc -b" first');
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-cleanup-run-"));
    execFileSync("ip", ["netns", "add", ns]);
    execFileSync("ip", ["-n", ns, "link", "add", link, "type", "veth", "peer", "name", `${link}p`]);
  });
  afterAll(() => {
    spawnSync("ip", ["netns", "del", ns]);
    fs.rmSync(runDir, { recursive: true, force: true });
    // Only if the test failed before cleanup did its job.
    if (fs.existsSync(bpfDir)) spawnSync("rm", ["-rf", bpfDir]);
  });

  test("removes the tc filters and the pinned maps of this namespace", async () => {
    const backend = ebpfTesting.RemoteBackend.start({ ns, bpfDir, role: "owner" });
    try {
      await backend.open();
      const programId = 77;
      expect(await backend.tables.rules.applyBatch([[{ programId, index: 0 }, ebpfTesting.compiledRule()]], [])).toEqual([]);
      const entry = { ingressProgram: programId, egressProgram: programId, flags: 0, ingressLength: 1, egressLength: 1 };
      expect(await backend.tables.endpoints.applyBatch([[{ ifname: link }, entry]], [])).toEqual([]);
    } finally {
      // The agent goes; the datapath it programmed stays, as after a ptables shutdown.
      await backend.stop();
    }
    expect(fs.readdirSync(bpfDir).some((f) => f.startsWith("pt_"))).toBe(true);
    expect(tcFilters("ingress")).not.toBe("");

    // nsenter --net keeps the mount namespace, so the pins under /sys/fs/bpf stay visible.
    const r = spawnSync("nsenter", [`--net=/run/netns/${ns}`, "--", process.execPath, PTABLES_BIN, "cleanup", "--bpf-dir", bpfDir, "--run-dir", runDir], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(`Removed ptables' tc filters, owned routes and neighbours, and the pins in ${bpfDir}.`);
    expect(fs.existsSync(bpfDir)).toBe(false);
    expect(tcFilters("ingress")).toBe("");
    expect(tcFilters("egress")).toBe("");
  });
});
