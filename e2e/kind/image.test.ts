/**
 * images/ without Docker (none here): what images/assemble-app.cjs lays out for the runtime stage
 * is complete (every agent loads from it with only its own files and production dependencies)
 * and nothing more, and the Dockerfile puts things where the chart runs them. The kind job
 * builds the image for real.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const REPO = path.resolve(__dirname, "../..");
const assembler = require(path.join(REPO, "images/assemble-app.cjs")) as {
  ENTRY_PACKAGES: string[];
  runtimePackages(root: string): string[];
  workspaceDirs(root: string): string[];
  appFiles(root: string): string[];
  assemble(root: string, dest: string): void;
};
const dockerfile = fs.readFileSync(path.join(REPO, "images/Dockerfile"), "utf8");
const rootPackage = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")) as { engines: { node: string }; packageManager: string };

describe("images/assemble-app.cjs", () => {
  let app: string;
  beforeAll(() => {
    app = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-app-"));
    assembler.assemble(REPO, app);
  });
  afterAll(() => fs.rmSync(app, { recursive: true, force: true }));

  test("ships the agents, the driver and the CLI with every @ptables package they use, and no test-only package", () => {
    const shipped = assembler.runtimePackages(REPO);
    for (const e of assembler.ENTRY_PACKAGES) expect(shipped).toContain(e);
    for (const name of shipped) {
      const deps = Object.keys((JSON.parse(fs.readFileSync(path.join(REPO, "packages", name, "package.json"), "utf8")) as { dependencies?: object }).dependencies ?? {});
      for (const d of deps.filter((x) => x.startsWith("@ptables/"))) expect({ name, dep: d, shipped: shipped.includes(d.slice(9)) }).toEqual({ name, dep: d, shipped: true });
    }
    expect(shipped).not.toContain("testkit");
    expect(shipped).not.toContain("relay");
  });

  test("has every workspace's package.json, so npm ci --omit=dev matches the lock file", () => {
    const lock = JSON.parse(fs.readFileSync(path.join(REPO, "package-lock.json"), "utf8")) as { packages: Record<string, { link?: boolean }> };
    const lockWorkspaces = Object.keys(lock.packages).filter((k) => k !== "" && !k.startsWith("node_modules/") && !k.includes("/node_modules/"));
    for (const ws of lockWorkspaces) expect({ ws, present: fs.existsSync(path.join(app, ws, "package.json")) }).toEqual({ ws, present: true });
    expect(fs.existsSync(path.join(app, "package-lock.json"))).toBe(true);
  });

  test("holds built output only: no sources, tests or build info", () => {
    const files = fs.readdirSync(path.join(app, "packages"), { recursive: true }).map(String);
    expect(files.filter((f) => (f.endsWith(".ts") && !f.endsWith(".d.ts")) || /\.test\./.test(f) || f.endsWith(".tsbuildinfo") || f.includes(`${path.sep}src${path.sep}`))).toEqual([]);
  });

  test("has what the chart and the image run: each agent's main, the CLI, the driver, the BPF object", () => {
    for (const agent of ["felix-proxy", "policy-programmer", "arp-responder", "offload-daemon"]) {
      expect(fs.existsSync(path.join(app, "packages", agent, "dist/main.js"))).toBe(true);
    }
    for (const f of ["packages/cli/bin/ptables.js", "bin/ptables-felix-driver", "packages/backend-ebpf/build/ptables.bpf.o"]) expect({ f, ok: fs.existsSync(path.join(app, f)) }).toEqual({ f, ok: true });
  });

  test("every shipped package loads from the assembly with only production dependencies beside it", () => {
    // Like the image: node_modules/@ptables/* link to the assembled packages; third-party
    // modules come from this checkout (the image gets them from npm ci --omit=dev).
    const nm = path.join(app, "node_modules");
    fs.mkdirSync(path.join(nm, "@ptables"), { recursive: true });
    for (const entry of fs.readdirSync(path.join(REPO, "node_modules"))) {
      if (entry === "@ptables" || entry.startsWith(".")) continue;
      fs.symlinkSync(path.join(REPO, "node_modules", entry), path.join(nm, entry));
    }
    for (const name of assembler.runtimePackages(REPO)) fs.symlinkSync(path.join("..", "..", "packages", name), path.join(nm, "@ptables", name));
    const shipped = assembler.runtimePackages(REPO);
    const script = shipped.map((n) => `require(${JSON.stringify(path.join(app, "packages", n, "dist/index.js"))});`).join("") + 'process.stdout.write("loaded")';
    const r = spawnSync(process.execPath, ["-e", script], { cwd: app, encoding: "utf8", env: { PATH: process.env.PATH } });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr.split("\n")[0] }).toEqual({ status: 0, stdout: "loaded", stderr: "" });
  });
});

describe("images/Dockerfile", () => {
  test("builds on exact Node.js images of the supported major version, with the lock file's npm", () => {
    const images = [...dockerfile.matchAll(/^ARG NODE_\w+_IMAGE=(\S+)$/gm)].map((m) => m[1]!);
    expect(images).toHaveLength(2);
    const major = rootPackage.engines.node.replace(/^>=/, "");
    for (const img of images) expect(img).toMatch(new RegExp(`^docker\\.io/library/node:${major}\\.\\d+\\.\\d+-bookworm(-slim)?$`));
    expect(images[1]).toMatch(/-slim$/);
    expect(dockerfile).toContain(`ARG NPM_VERSION=${rootPackage.packageManager.replace(/^npm@/, "")}`);
  });

  test("puts the relay and the agents where the chart runs them", () => {
    const rendered = fs.readFileSync(path.join(REPO, "charts/ptables/ci/rendered-default.yaml"), "utf8");
    expect(dockerfile).toMatch(/^COPY --from=build \/src\/packages\/relay\/build\/ptables-felix-relay \/usr\/local\/bin\/ptables-felix-relay$/m);
    expect(rendered).toContain('"/usr/local/bin/ptables-felix-relay", "--install"');
    expect(dockerfile).toMatch(/^RUN node images\/assemble-app\.cjs \/src \/opt\/ptables/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/opt\/ptables \/opt\/ptables$/m);
    expect(rendered).toContain('command: ["node", "/opt/ptables/packages/felix-proxy/dist/main.js"]');
    // The cleanup mode runs `ptables`.
    expect(dockerfile).toContain("ln -s /opt/ptables/packages/cli/bin/ptables.js /usr/local/bin/ptables");
  });

  test("the runtime stage installs the packages of every command the backend runs", () => {
    const runtimeStage = dockerfile.slice(dockerfile.indexOf("AS agents"));
    const installed = runtimeStage.match(/apt-get install -y --no-install-recommends ([^&\n]+)/)![1]!.trim().split(/\s+/);
    const PACKAGE_OF: Record<string, string> = { ip: "iproute2", bridge: "iproute2", nft: "nftables", mount: "mount", umount: "mount" };
    const IN_BASE = new Set(["mount"]); // Debian "required": in every image
    const src = path.join(REPO, "packages/backend-ebpf/src");
    const used = new Set<string>();
    for (const f of fs.readdirSync(src, { recursive: true }).map(String)) {
      if (!f.endsWith(".ts") || f.includes(".test.") || f.includes("testing")) continue;
      const text = fs.readFileSync(path.join(src, f), "utf8");
      for (const m of text.matchAll(/(?:execFile(?:Sync)?|spawn)\(\s*"([a-z0-9-]+)"/g)) used.add(m[1]!);
      for (const m of text.matchAll(/\["(ip|bridge|nft)",/g)) used.add(m[1]!);
    }
    expect([...used].sort()).toEqual(expect.arrayContaining(["ip", "mount"]));
    for (const cmd of used) {
      const pkg = PACKAGE_OF[cmd];
      expect({ cmd, known: pkg !== undefined }).toEqual({ cmd, known: true });
      if (!IN_BASE.has(pkg!)) expect({ cmd, pkg, installed: installed.includes(pkg!) }).toEqual({ cmd, pkg, installed: true });
    }
    expect(installed).toContain("libbpf1");
  });

  test("the build context leaves out local outputs and dependencies", () => {
    const ignore = fs.readFileSync(path.join(REPO, "images/Dockerfile.dockerignore"), "utf8").split("\n");
    for (const p of ["**/node_modules", "**/dist", "**/build", ".git", "**/*.tsbuildinfo"]) expect(ignore).toContain(p);
  });
});
