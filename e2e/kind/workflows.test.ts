/**
 * .github/workflows without GitHub: they parse, run only scripts that exist, take their versions
 * from e2e/kind/versions.env and the Dockerfile, and collect logs when a kind job fails.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

const REPO = path.resolve(__dirname, "../..");
const WORKFLOWS = path.join(REPO, ".github/workflows");
type Step = { name?: string; run?: string; uses?: string; if?: string; with?: Record<string, unknown> };
type Job = { steps: Step[]; "runs-on": string; "timeout-minutes"?: number; container?: unknown };
const load = (f: string): { jobs: Record<string, Job> } => parseYaml(fs.readFileSync(path.join(WORKFLOWS, f), "utf8"));
const ci = load("ci.yaml");
const kind = load("kind-e2e.yaml");
const nodeVersion = fs.readFileSync(path.join(REPO, "images/Dockerfile"), "utf8").match(/node:(\d+\.\d+\.\d+)-bookworm/)![1];

describe("GitHub workflows", () => {
  test("ci runs the repository's test command as root on Debian 12 with the image's Node.js", () => {
    const steps = ci.jobs.test!.steps;
    expect(steps.map((s) => s.run).filter(Boolean)).toContain("bash .ci/run");
    expect(ci.jobs.test!.container).toEqual({ image: "debian:bookworm", options: "--privileged" });
    expect(steps.find((s) => s.uses?.startsWith("actions/setup-node"))!.with).toEqual({ "node-version": nodeVersion });
  });

  test("every script and file the steps name exists", () => {
    for (const wf of [ci, kind]) {
      for (const [job, j] of Object.entries(wf.jobs)) {
        for (const s of j.steps) {
          for (const m of (s.run ?? "").matchAll(/(?:^|\s)((?:e2e|charts|images|\.ci)\/[A-Za-z0-9_./*-]+)/g)) {
            const file = m[1]!;
            if (file.includes("*")) continue;
            expect({ job, file, exists: fs.existsSync(path.join(REPO, file)) }).toEqual({ job, file, exists: true });
          }
        }
      }
    }
  });

  test("the kind jobs bring a cluster up the same way, take versions from versions.env, and keep logs on failure", () => {
    for (const job of ["smoke", "netpol"]) {
      const steps = kind.jobs[job]!.steps;
      const runs = steps.map((s) => s.run ?? "");
      expect(runs).toContain("bash e2e/kind/up.sh");
      expect(runs).toContain("sudo bash e2e/kind/install-kind.sh");
      const collect = steps.find((s) => s.run === "bash e2e/kind/collect-logs.sh kind-logs");
      expect(collect?.if).toBe("failure()");
      expect(steps.some((s) => s.uses?.startsWith("actions/upload-artifact") && s.with?.path === "kind-logs" && s.if === "failure()")).toBe(true);
    }
    expect(kind.jobs.smoke!.steps.map((s) => s.run)).toEqual(expect.arrayContaining(["bash e2e/kind/smoke.sh", "bash e2e/kind/rollback.sh"]));
    expect(kind.jobs.netpol!.steps.map((s) => s.run)).toContain("REPORT_DIR=netpol-report bash e2e/kind/netpol-e2e.sh");
    expect(JSON.stringify(kind)).not.toMatch(/kind\.sigs\.k8s\.io/); // the version lives in versions.env only
  });

  test("the chart job checks the checked-in rendering, the schema and Kubernetes' schemas with Helm", () => {
    const runs = kind.jobs.chart!.steps.map((s) => s.run ?? "").join("\n");
    expect(runs).toContain("node e2e/kind/compare-rendered.cjs charts/ptables/ci/rendered-default.yaml rendered.yaml");
    expect(runs).toContain("helm template ptables charts/ptables --namespace ptables-system --kube-version \"${KUBE_VERSION}\" > rendered.yaml");
    expect(runs).toContain("kubeconform -strict");
    expect(runs).toContain("helm lint --strict --kube-version \"${KUBE_VERSION}\" charts/ptables");
    expect(runs).toContain("ct lint --charts charts/ptables");
  });
});
