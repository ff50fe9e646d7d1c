/**
 * The kind e2e's shell, without a cluster: every script parses (bash -n) and passes shellcheck,
 * and lib.sh's pure helpers do what the scripts rely on.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const KIND_DIR = __dirname;
const REPO = path.resolve(KIND_DIR, "../..");
const SCRIPTS = [
  ...fs.readdirSync(KIND_DIR).filter((f) => f.endsWith(".sh")).map((f) => path.join(KIND_DIR, f)),
  path.join(REPO, "packages/relay/build.sh"),
];

/** Runs `bash -c` with lib.sh sourced; stdin optional. */
function lib(script: string, input = ""): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("bash", ["-c", `set -euo pipefail; source ${JSON.stringify(path.join(KIND_DIR, "lib.sh"))}; ${script}`], { input, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("kind e2e scripts", () => {
  test.each(SCRIPTS.map((s) => [path.relative(REPO, s), s]))("%s parses, is executable and starts with strict mode", (_name, script) => {
    expect(spawnSync("bash", ["-n", script], { encoding: "utf8" }).stderr).toBe("");
    const text = fs.readFileSync(script, "utf8");
    expect(text.startsWith("#!/usr/bin/env bash\n")).toBe(true);
    if (path.basename(script) !== "lib.sh") {
      expect(fs.statSync(script).mode & 0o111).not.toBe(0);
      expect(text).toMatch(/^set -[eu]+o pipefail$/m);
    }
  });

  test("every script passes shellcheck", () => {
    const sc = spawnSync("shellcheck", ["--version"]);
    if (sc.error) throw new Error("shellcheck is not installed: add it to scripts/setup.sh (Debian package shellcheck)");
    const r = spawnSync("shellcheck", ["-x", ...SCRIPTS], { cwd: REPO, encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  test("the scripts only name files that exist", () => {
    // Paths under ${KIND_DIR} and ${REPO_ROOT} that the scripts read.
    for (const script of SCRIPTS) {
      const text = fs.readFileSync(script, "utf8");
      for (const m of text.matchAll(/\$\{(KIND_DIR|REPO_ROOT)\}\/([A-Za-z0-9_./-]+)/g)) {
        const base = m[1] === "KIND_DIR" ? KIND_DIR : REPO;
        expect({ script: path.basename(script), file: m[2], exists: fs.existsSync(path.join(base, m[2]!)) }).toEqual({ script: path.basename(script), file: m[2], exists: true });
      }
    }
  });
});

describe("lib.sh", () => {
  test("git_version_from_json reads the server version from /version", () => {
    const doc = JSON.stringify({ major: "1", minor: "34", gitVersion: "v1.34.0", gitCommit: "abc", platform: "linux/amd64" }, null, 2);
    expect(lib("git_version_from_json", doc)).toEqual({ status: 0, stdout: "v1.34.0\n", stderr: "" });
    expect(lib("git_version_from_json", '{"major":"1"}').status).toBe(1);
  });

  test("k8s_test_tarball_url names the release's test tarball and refuses anything else", () => {
    expect(lib("k8s_test_tarball_url v1.34.0 amd64").stdout).toBe("https://dl.k8s.io/v1.34.0/kubernetes-test-linux-amd64.tar.gz\n");
    expect(lib("k8s_test_tarball_url v1.35.0-rc.1 arm64").stdout).toBe("https://dl.k8s.io/v1.35.0-rc.1/kubernetes-test-linux-arm64.tar.gz\n");
    for (const bad of ["1.34.0 amd64", "v1.34 amd64", "v1.34.0+k3s1 amd64", "v1.34.0 x86_64"]) {
      expect({ bad, status: lib(`k8s_test_tarball_url ${bad}`).status }).toEqual({ bad, status: 1 });
    }
  });

  test("skip_regex joins the skip list's expressions and drops comments", () => {
    const file = path.join(os.tmpdir(), `skips-${process.pid}.txt`);
    try {
      fs.writeFileSync(file, "# header\n\n  \\[Feature:SCTPConnectivity\\]   # why\nSCTP\n\t# indented comment\nlast-line-without-newline");
      expect(lib(`skip_regex ${file}`).stdout).toBe("\\[Feature:SCTPConnectivity\\]|SCTP|last-line-without-newline\n");
      fs.writeFileSync(file, "# only comments\n\n");
      expect(lib(`skip_regex ${file}`).status).toBe(1);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  test("the checked-in skip list gives one expression that matches the specs it is meant to skip", () => {
    const r = lib(`skip_regex ${path.join(KIND_DIR, "netpol-skips.txt")}`);
    expect(r.status).toBe(0);
    const re = new RegExp(r.stdout.trim());
    expect(re.test("[sig-network] Netpol NetworkPolicy between server and client should support a 'default-deny-ingress' policy [Feature:NetworkPolicy] [Feature:SCTPConnectivity]")).toBe(true);
    expect(re.test("[sig-network] Netpol NetworkPolicy between server and client should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector [Feature:NetworkPolicy]")).toBe(false);
  });

  test("metric_value finds one sample in Prometheus text", () => {
    const text = [
      "# HELP ptables_felix_proxy_endpoint_statuses Endpoint statuses last reported to Felix, by status (up, down, error)",
      "# TYPE ptables_felix_proxy_endpoint_statuses gauge",
      'ptables_felix_proxy_endpoint_statuses{status="up"} 7',
      'ptables_felix_proxy_endpoint_statuses{status="down"} 1',
      "ptables_felix_proxy_felix_in_sync 1",
      "ptables_felix_proxy_felix_in_sync_total 5",
    ].join("\n");
    expect(lib(`metric_value ptables_felix_proxy_endpoint_statuses 'status="up"'`, text).stdout).toBe("7\n");
    expect(lib(`metric_value ptables_felix_proxy_endpoint_statuses 'status="down"'`, text).stdout).toBe("1\n");
    expect(lib("metric_value ptables_felix_proxy_felix_in_sync", text).stdout).toBe("1\n");
    expect(lib(`metric_value ptables_felix_proxy_endpoint_statuses 'status="error"'`, text)).toMatchObject({ status: 1, stdout: "" });
  });

  test("retry runs a command until it succeeds, at most the given number of times", () => {
    const counter = path.join(os.tmpdir(), `retry-${process.pid}`);
    try {
      fs.writeFileSync(counter, "");
      const ok = lib(`retry 5 0 bash -c 'echo x >> ${counter}; [ $(wc -l < ${counter}) -ge 3 ]'`);
      expect(ok.status).toBe(0);
      expect(fs.readFileSync(counter, "utf8")).toBe("x\nx\nx\n");
      fs.writeFileSync(counter, "");
      const fail = lib(`retry 2 0 bash -c 'echo x >> ${counter}; false'`);
      expect(fail.status).toBe(1);
      expect(fs.readFileSync(counter, "utf8")).toBe("x\nx\n");
      expect(fail.stderr).toContain("gave up after 2 attempts");
    } finally {
      fs.rmSync(counter, { force: true });
    }
  });
});

describe("felix_rules_cleanup", () => {
  // What Felix's iptables dataplane leaves in iptables-save (abridged from a calico-node node),
  // mixed with kube-proxy's and Docker's rules that must stay.
  const SAVE = `# Generated by iptables-nft-save v1.8.9
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:cali-OUTPUT - [0:0]
:cali-PREROUTING - [0:0]
-A PREROUTING -m comment --comment "cali:6gwbT8clXdHdC1b1" -j cali-PREROUTING
-A OUTPUT -m comment --comment "cali:tVnHkvAo15HuiPy0" -j cali-OUTPUT
-A cali-OUTPUT -m comment --comment "cali:njdnLwYeGqBJyh3J" -j MARK --set-xmark 0x0/0xf0000
-A cali-PREROUTING -m comment --comment "cali:XFX5xbM8B9qR10JG" -j MARK --set-xmark 0x0/0xf0000
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-FORWARD - [0:0]
:cali-FORWARD - [0:0]
:cali-from-wl-dispatch - [0:0]
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "cali:wUHhoiAYhphO9Mso" -j cali-FORWARD
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m comment --comment "cali:S93hcgKJrXEqnTfs" -m comment --comment "Policy explicitly accepted packet." -m mark --mark 0x10000/0x10000 -j ACCEPT
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A cali-FORWARD -i cali+ -m comment --comment "cali:X3vB2lGcBrfkYquC" -j cali-from-wl-dispatch
-A cali-from-wl-dispatch -m comment --comment "cali:zTj6P0TIgYvgz-md" -m comment --comment "Unknown interface" -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-POSTROUTING - [0:0]
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
COMMIT
`;

  test("removes exactly Felix's rules and chains, references first", () => {
    const r = lib("felix_rules_cleanup", SAVE);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`*raw
-D PREROUTING -m comment --comment "cali:6gwbT8clXdHdC1b1" -j cali-PREROUTING
-D OUTPUT -m comment --comment "cali:tVnHkvAo15HuiPy0" -j cali-OUTPUT
-F cali-OUTPUT
-F cali-PREROUTING
-X cali-OUTPUT
-X cali-PREROUTING
COMMIT
*filter
-D FORWARD -m comment --comment "cali:wUHhoiAYhphO9Mso" -j cali-FORWARD
-D FORWARD -m comment --comment "cali:S93hcgKJrXEqnTfs" -m comment --comment "Policy explicitly accepted packet." -m mark --mark 0x10000/0x10000 -j ACCEPT
-F cali-FORWARD
-F cali-from-wl-dispatch
-X cali-FORWARD
-X cali-from-wl-dispatch
COMMIT
`);
  });

  test("writes nothing when Felix left nothing", () => {
    const clean = SAVE.split("\n").filter((l) => !/cali/.test(l)).join("\n");
    expect(lib("felix_rules_cleanup", clean)).toEqual({ status: 0, stdout: "", stderr: "" });
  });
});
