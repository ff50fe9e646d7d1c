/**
 * charts/ptables without Helm (which cannot run here): the values schema against values.yaml and
 * every ci/*-values.yaml, its refusals, its agreement with the agents' own configuration loader,
 * the checked-in rendering (Kubernetes schemas, values, invariants), the templates' references,
 * and the Calico patches applied with kubectl to a calico-node DaemonSet. The GitHub chart job
 * checks that Helm renders exactly ci/rendered-default.yaml (e2e/kind/compare-rendered.cjs).
 */
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Ajv, { type ErrorObject } from "ajv";
import { ConfigMap, ServiceAccount } from "kubernetes-models/v1";
import { DaemonSet } from "kubernetes-models/apps/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { Namespace, Pod } from "kubernetes-models/v1";
import { parse as parseYaml, parseAllDocuments, stringify as toYaml } from "yaml";
import { ConfigError, configFileKeys, loadConfig } from "@ptables/runtime";
const { compareRendered } = require("./compare-rendered.cjs") as { compareRendered: (expected: string, actual: string) => string[] };

const REPO = path.resolve(__dirname, "../..");
const CHART = path.join(REPO, "charts/ptables");
type Json = any;

const read = (p: string): string => fs.readFileSync(p, "utf8");
const schema: Json = JSON.parse(read(path.join(CHART, "values.schema.json")));
const defaults: Json = parseYaml(read(path.join(CHART, "values.yaml")));
const chartMeta: Json = parseYaml(read(path.join(CHART, "Chart.yaml")));
const renderedText = read(path.join(CHART, "ci/rendered-default.yaml"));
const rendered: Json[] = parseAllDocuments(renderedText).map((d) => d.toJS()).filter((d) => d);
const ciValueFiles = fs.readdirSync(path.join(CHART, "ci")).filter((f) => f.endsWith("-values.yaml"));
/** The directories the chart gives the agents (configmap.yaml). */
const CHART_DIRS = { runDir: "/run/ptables", stateDir: "/var/lib/ptables", bpfDir: "/sys/fs/bpf/ptables" };

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validateValues = ajv.compile(schema);

/** Helm's values merge: maps merge key by key, anything else replaces, null removes. */
function helmMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over ?? {})) {
    if (v === null) delete out[k];
    else if (isMap(v) && isMap(out[k])) out[k] = helmMerge(out[k], v);
    else out[k] = v;
  }
  return out;
}
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Schema problems, one line each, naming the offending key as Helm's message does. */
function schemaProblems(values: Json): string[] {
  if (validateValues(values)) return [];
  return (validateValues.errors as ErrorObject[]).map((e) => {
    const where = e.instancePath === "" ? "values" : `values${e.instancePath.replace(/\//g, ".")}`;
    if (e.keyword === "additionalProperties") return `${where}: unknown key "${(e.params as { additionalProperty: string }).additionalProperty}"`;
    return `${where}: ${e.message}`;
  });
}

/** What templates/configmap.yaml writes as config.yaml for these values. */
function configFileFor(values: Json): string {
  return `runDir: ${CHART_DIRS.runDir}\nstateDir: ${CHART_DIRS.stateDir}\nbpfDir: ${CHART_DIRS.bpfDir}\n${toYaml(values.config)}`;
}

/** Loads a config file with the agents' own loader (@ptables/runtime). */
function agentsLoad(configText: string): ReturnType<typeof loadConfig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-chart-config-"));
  try {
    fs.writeFileSync(path.join(dir, "config.yaml"), configText);
    return loadConfig({ PTABLES_CONFIG_FILE: path.join(dir, "config.yaml") });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function kubectl(args: string[]): string {
  const r = spawnSync("kubectl", args, { encoding: "utf8" });
  if (r.error) throw new Error("kubectl is not installed (the build machine has it; so do GitHub's runners)");
  if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

const daemonSet = (): Json => rendered.find((d) => d.kind === "DaemonSet");
const podSpec = (): Json => daemonSet().spec.template.spec;
const allContainers = (): Json[] => [...podSpec().initContainers, ...podSpec().containers];
const AGENT_PORT_KEYS: Record<string, string> = {
  "felix-proxy": "felixProxyHttpPort",
  "policy-programmer": "policyProgrammerHttpPort",
  "arp-responder": "arpResponderHttpPort",
  "offload-daemon": "offloadDaemonHttpPort",
};

describe("values.schema.json", () => {
  test("values.yaml is valid", () => {
    expect(schemaProblems(defaults)).toEqual([]);
  });

  test.each(ciValueFiles)("ci/%s merged over values.yaml is valid", (file) => {
    expect(schemaProblems(helmMerge(defaults, parseYaml(read(path.join(CHART, "ci", file)))))).toEqual([]);
  });

  test("every object in the schema refuses unknown keys", () => {
    const open: string[] = [];
    const walk = (node: Json, where: string): void => {
      if (!isMap(node)) return;
      if (node.type === "object" && node.properties && node.additionalProperties !== false) open.push(where);
      for (const [k, v] of Object.entries(node)) {
        if (isMap(v)) walk(v, `${where}/${k}`);
      }
    };
    walk(schema, "#");
    expect(open).toEqual([]);
  });

  test.each<[string, Json, string[]]>([
    ["a misspelt top-level key", { iamge: { tag: "x" } }, ['values: unknown key "iamge"']],
    ["a misspelt nested key", { image: { tga: "x" } }, ['values.image: unknown key "tga"']],
    ["privileged on an agent that has no such switch", { agents: { felixProxy: { privileged: true } } }, ['values.agents.felixProxy: unknown key "privileged"']],
    ["a directory the chart owns", { config: { runDir: "/tmp" } }, ['values.config: unknown key "runDir"']],
    ["a log level the agents do not know", { config: { logLevel: "verbose" } }, ["values.config.logLevel: must be equal to one of the allowed values"]],
    ["a port as a string", { config: { felixProxyHttpPort: "9190" } }, ["values.config.felixProxyHttpPort: must be integer"]],
    ["a health address the kubelet cannot probe", { config: { healthHost: "10.0.0.1" } }, ["values.config.healthHost: must be equal to one of the allowed values"]],
    ["a relative host path", { bpffs: { hostPath: "sys/fs/bpf" } }, ['values.bpffs.hostPath: must match pattern "^/([^/\\s]+/)*[^/\\s]+$"']],
    ["an unknown mode", { mode: "off" }, ["values.mode: must be equal to one of the allowed values"]],
    ["a capability by another name", { agents: { arpResponder: { capabilities: ["CAP_BPF"] } } }, ["values.agents.arpResponder.capabilities.0: must be equal to one of the allowed values"]],
  ])("refuses %s, naming it", (_what, override, problems) => {
    expect(schemaProblems(helmMerge(defaults, override))).toEqual(problems);
  });

  test("config takes exactly the agents' settings, less the directories the chart sets", () => {
    expect([...Object.keys(schema.properties.config.properties), ...Object.keys(CHART_DIRS)].sort()).toEqual([...configFileKeys()].sort());
  });

  test("the agents accept every bound and enum value the schema allows; the schema refuses past them", () => {
    const props: Record<string, Json> = schema.properties.config.properties;
    const resolve = (p: Json): Json => (p.$ref ? schema.definitions[p.$ref.split("/").pop()] : p);
    for (const [key, raw] of Object.entries(props)) {
      const p = resolve(raw);
      const accepted: unknown[] = p.enum ?? (p.type === "integer" ? [p.minimum, p.maximum] : []);
      for (const v of accepted) {
        const values = helmMerge(defaults, { config: { [key]: v } });
        expect({ key, v, problems: schemaProblems(values) }).toEqual({ key, v, problems: [] });
        expect(() => agentsLoad(configFileFor(values))).not.toThrow();
      }
      if (p.type === "integer") {
        for (const v of [p.minimum - 1, p.maximum + 1]) {
          expect({ key, v, refused: schemaProblems(helmMerge(defaults, { config: { [key]: v } })).length > 0 }).toEqual({ key, v, refused: true });
          // The agents refuse the same, except port 0 (no HTTP server), which the chart's probes cannot use.
          const agentsRefuse = (() => {
            try {
              agentsLoad(configFileFor(helmMerge(defaults, { config: { [key]: v } })));
              return false;
            } catch (err) {
              return err instanceof ConfigError;
            }
          })();
          expect({ key, v, agentsRefuse }).toEqual({ key, v, agentsRefuse: !(key.endsWith("HttpPort") && v === 0) });
        }
      }
    }
  });

  test.each(["values.yaml", ...ciValueFiles.map((f) => `ci/${f}`)])("the agents load the config file the chart writes for %s", (file) => {
    const values = file === "values.yaml" ? defaults : helmMerge(defaults, parseYaml(read(path.join(CHART, file))));
    const cfg = agentsLoad(configFileFor(values));
    expect(cfg).toMatchObject({
      ...CHART_DIRS,
      healthHost: values.config.healthHost,
      httpPorts: {
        felixProxy: values.config.felixProxyHttpPort,
        policyProgrammer: values.config.policyProgrammerHttpPort,
        arpResponder: values.config.arpResponderHttpPort,
        offloadDaemon: values.config.offloadDaemonHttpPort,
      },
    });
  });
});

describe("ci/rendered-default.yaml (helm template ptables charts/ptables -n ptables-system)", () => {
  test("holds a ServiceAccount, a ConfigMap and a DaemonSet, each valid for Kubernetes, and no RBAC", () => {
    const MODELS: Record<string, (o: Json) => { validate(): void }> = {
      "v1/ServiceAccount": (o) => new ServiceAccount(o),
      "v1/ConfigMap": (o) => new ConfigMap(o),
      "apps/v1/DaemonSet": (o) => new DaemonSet(o),
    };
    expect(rendered.map((d) => `${d.apiVersion}/${d.kind}`).sort()).toEqual(Object.keys(MODELS).sort());
    for (const doc of rendered) expect(() => MODELS[`${doc.apiVersion}/${doc.kind}`]!(doc).validate()).not.toThrow();
  });

  test("the Kubernetes schemas would catch a mistake here", () => {
    const broken = structuredClone(daemonSet());
    broken.spec.template.spec.containers[0].ports[0].containerPort = "9190";
    expect(() => new DaemonSet(broken).validate()).toThrow(/containerPort must be integer/);
  });

  test("its ConfigMap is the config file the chart writes for values.yaml, and the checksum is of it", () => {
    const cm = rendered.find((d) => d.kind === "ConfigMap");
    expect(parseYaml(cm.data["config.yaml"])).toEqual(parseYaml(configFileFor(defaults)));
    // Helm hashes the rendered configmap.yaml, which is this document's text.
    const text = renderedText.split("# Source: ptables/templates/configmap.yaml\n")[1]!.split("\n---\n")[0]! + "\n";
    expect(daemonSet().spec.template.metadata.annotations["checksum/config"]).toBe(createHash("sha256").update(text).digest("hex"));
  });

  test("images, commands, ports and probes follow values.yaml and Chart.yaml", () => {
    const image = `${defaults.image.registry}/${defaults.image.repository}:${chartMeta.appVersion}`;
    for (const c of allContainers()) expect({ c: c.name, image: c.image, pull: c.imagePullPolicy }).toEqual({ c: c.name, image, pull: defaults.image.pullPolicy });
    expect(podSpec().containers.map((c: Json) => c.name)).toEqual(Object.keys(AGENT_PORT_KEYS));
    for (const c of podSpec().containers) {
      const port = defaults.config[AGENT_PORT_KEYS[c.name]!];
      expect(c.command).toEqual(["node", `/opt/ptables/packages/${c.name}/dist/main.js`]);
      expect(fs.existsSync(path.join(REPO, "packages", c.name, "src", "main.ts"))).toBe(true);
      expect(c.ports).toEqual([expect.objectContaining({ containerPort: port, protocol: "TCP" })]);
      expect(c.env).toEqual([{ name: "PTABLES_CONFIG_FILE", value: "/etc/ptables/config.yaml" }]);
      for (const [probe, p] of [["startupProbe", "/liveness"], ["livenessProbe", "/liveness"], ["readinessProbe", "/readiness"]] as const) {
        expect(c[probe].httpGet).toEqual({ host: "127.0.0.1", path: p, port });
        const v = defaults.probes[probe.replace("Probe", "")];
        expect({ periodSeconds: c[probe].periodSeconds, timeoutSeconds: c[probe].timeoutSeconds, failureThreshold: c[probe].failureThreshold }).toEqual(v);
      }
      // Host network: clear of Felix, Typha, kube-controllers (9090-9099) and calico-vpp (8888).
      expect(port === 8888 || (port >= 9090 && port <= 9099)).toBe(false);
    }
  });

  test("host paths and mounts follow values.yaml and the directories in the config file", () => {
    const hostPaths = Object.fromEntries(podSpec().volumes.filter((v: Json) => v.hostPath).map((v: Json) => [v.name, v.hostPath.path]));
    expect(hostPaths).toEqual({
      "ptables-run": `${defaults.calico.runHostPath}/ptables`,
      "ptables-state": defaults.stateHostPath,
      bpffs: defaults.bpffs.hostPath,
      "felix-plugins": defaults.calico.felixPluginsHostPath,
    });
    for (const c of podSpec().containers) {
      const mounts = Object.fromEntries(c.volumeMounts.map((m: Json) => [m.name, m.mountPath]));
      expect(mounts["ptables-run"]).toBe(CHART_DIRS.runDir);
      expect(mounts["ptables-state"]).toBe(CHART_DIRS.stateDir);
      expect(mounts.config).toBe("/etc/ptables");
      expect(mounts.run).toBe("/run");
      expect(mounts.bpffs).toBe(c.name === "felix-proxy" ? undefined : path.dirname(CHART_DIRS.bpfDir));
    }
    const install = podSpec().initContainers.find((c: Json) => c.name === "install-relay");
    expect(install.command).toEqual(["/usr/local/bin/ptables-felix-relay", "--install", "/host/felix-plugins"]);
    expect(install.volumeMounts).toEqual([{ name: "felix-plugins", mountPath: "/host/felix-plugins" }]);
  });

  test("privileges: host network only, no API token, capabilities per agent, read-only root", () => {
    const spec = podSpec();
    expect(spec.hostNetwork).toBe(true);
    for (const k of ["hostPID", "hostIPC"]) expect(spec[k]).toBeUndefined();
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(rendered.find((d) => d.kind === "ServiceAccount").automountServiceAccountToken).toBe(false);
    const sc = Object.fromEntries(allContainers().map((c: Json) => [c.name, c.securityContext]));
    for (const [name, s] of Object.entries<Json>(sc)) {
      expect({ name, ro: s.readOnlyRootFilesystem }).toEqual({ name, ro: true });
      expect({ name, sysAdmin: (s.capabilities?.add ?? []).includes("SYS_ADMIN") }).toEqual({ name, sysAdmin: false });
      if (!s.privileged) expect({ name, drop: s.capabilities.drop, escalation: s.allowPrivilegeEscalation }).toEqual({ name, drop: ["ALL"], escalation: false });
    }
    expect(sc["felix-proxy"].capabilities.add).toBeUndefined();
    expect(sc["install-relay"].capabilities.add).toBeUndefined();
    expect(sc["policy-programmer"].privileged).toBe(defaults.agents.policyProgrammer.privileged);
    for (const a of ["arp-responder", "offload-daemon"]) expect(sc[a].capabilities.add).toEqual(defaults.agents[a === "arp-responder" ? "arpResponder" : "offloadDaemon"].capabilities);
  });
});

describe("templates", () => {
  const templates = fs.readdirSync(path.join(CHART, "templates")).map((f) => read(path.join(CHART, "templates", f))).join("\n");

  test("every .Values path they use is in the schema, and every value is used", () => {
    const used = new Set<string>();
    for (const m of templates.matchAll(/\.Values((?:\.[A-Za-z][A-Za-z0-9]*)+)/g)) used.add(m[1]!.slice(1));
    // Variables bound to .Values subtrees in daemonset.yaml.
    for (const m of templates.matchAll(/\$agents((?:\.[A-Za-z][A-Za-z0-9]*)+)/g)) used.add(`agents${m[1]}`);
    for (const m of templates.matchAll(/\$ports((?:\.[A-Za-z][A-Za-z0-9]*)+)/g)) used.add(`config${m[1]}`);
    const missing = [...used].filter((p) => {
      let node: Json = schema;
      for (const part of p.split(".")) {
        node = node.properties?.[part] ?? (node.$ref ? schema.definitions[node.$ref.split("/").pop()].properties?.[part] : undefined);
        if (node?.$ref && !node.properties) node = schema.definitions[node.$ref.split("/").pop()];
        if (!node) return true;
      }
      return false;
    });
    expect(missing).toEqual([]);
    const topLevelUsed = new Set([...used].map((p) => p.split(".")[0]));
    expect(Object.keys(schema.properties).filter((k) => !topLevelUsed.has(k))).toEqual([]);
  });
});

describe("calico/ patches", () => {
  const FIXTURE = path.join(__dirname, "testdata/calico-node.yaml");
  const fixture: Json = parseYaml(read(FIXTURE));
  const patch = (file: string, target = FIXTURE): Json => JSON.parse(kubectl(["patch", "--local", "-f", target, "--type", "strategic", "--patch-file", path.join(CHART, "calico", file), "-o", "json"]));
  const calicoNode = (ds: Json): Json => ds.spec.template.spec.containers.find((c: Json) => c.name === "calico-node");
  const env = (ds: Json): Record<string, string> => Object.fromEntries(calicoNode(ds).env.filter((e: Json) => "value" in e).map((e: Json) => [e.name, e.value]));

  test("the manifest patch points Felix at the relay the chart installs, through a read-only mount", () => {
    const patched = patch("calico-node-patch.yaml");
    expect(() => new DaemonSet(patched).validate()).not.toThrow();
    const driver = env(patched).FELIX_DATAPLANEDRIVER!;
    expect(env(patched).FELIX_USEINTERNALDATAPLANEDRIVER).toBe("false");
    expect(path.basename(driver)).toBe("ptables-felix-relay");
    const mount = calicoNode(patched).volumeMounts.find((m: Json) => m.mountPath === path.dirname(driver));
    expect(mount).toMatchObject({ readOnly: true });
    const volume = patched.spec.template.spec.volumes.find((v: Json) => v.name === mount.name);
    expect(volume.hostPath.path).toBe(defaults.calico.felixPluginsHostPath);
    // Everything calico.yaml had is still there.
    expect(env(patched)).toMatchObject(env(fixture));
    expect(calicoNode(patched).volumeMounts).toEqual(expect.arrayContaining(calicoNode(fixture).volumeMounts));
  });

  test("the rollback patch restores calico-node exactly", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-calico-"));
    try {
      const patchedFile = path.join(dir, "patched.json");
      fs.writeFileSync(patchedFile, JSON.stringify(patch("calico-node-patch.yaml")));
      expect(patch("calico-node-rollback-patch.yaml", patchedFile)).toEqual(JSON.parse(kubectl(["patch", "--local", "-f", FIXTURE, "--type", "merge", "-p", "{}", "-o", "json"])));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("calico-node sees the agents' socket where the relay looks without PTABLES_RUN_DIR", () => {
    // The relay's second default is /var/run/calico/ptables/felix.sock (packages/relay/src/relay.c).
    expect(read(path.join(REPO, "packages/relay/src/relay.c"))).toContain('"/var/run/calico/ptables"');
    const mount = calicoNode(fixture).volumeMounts.find((m: Json) => m.mountPath === "/var/run/calico");
    const volume = fixture.spec.template.spec.volumes.find((v: Json) => v.name === mount.name);
    expect(`${volume.hostPath.path}/ptables`).toBe(`${defaults.calico.runHostPath}/ptables`);
  });

  test("the FelixConfiguration switch names the relay under calico-node's /var/lib/calico mount", () => {
    const p = parseYaml(read(path.join(CHART, "calico/felixconfiguration-patch.yaml")));
    expect(p).toEqual({ spec: { useInternalDataplaneDriver: false, dataplaneDriver: expect.any(String) } });
    const driver: string = p.spec.dataplaneDriver;
    expect(driver).toBe(`${defaults.calico.felixPluginsHostPath}/ptables-felix-relay`);
    const libMount = calicoNode(fixture).volumeMounts.find((m: Json) => driver.startsWith(`${m.mountPath}/`));
    expect(libMount.mountPath).toBe("/var/lib/calico");
    expect(parseYaml(read(path.join(CHART, "calico/felixconfiguration.yaml"))).spec).toEqual(p.spec);
    expect(parseYaml(read(path.join(CHART, "calico/felixconfiguration-rollback-patch.yaml")))).toEqual({ spec: { useInternalDataplaneDriver: null, dataplaneDriver: null } });
  });
});

describe("kind e2e manifests", () => {
  test("the Calico kustomization sets the e2e pool on calico.yaml's calico-node", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-kustomize-"));
    try {
      for (const f of ["kustomization.yaml", "calico-node-env.yaml"]) fs.copyFileSync(path.join(__dirname, "calico", f), path.join(dir, f));
      fs.copyFileSync(path.join(__dirname, "testdata/calico-node.yaml"), path.join(dir, "calico.yaml"));
      const out: Json = parseYaml(kubectl(["kustomize", dir]));
      const env = Object.fromEntries(out.spec.template.spec.containers[0].env.filter((e: Json) => "value" in e).map((e: Json) => [e.name, e.value]));
      expect(env).toMatchObject({ CALICO_IPV4POOL_IPIP: "Never", CALICO_IPV4POOL_VXLAN: "Never", CALICO_IPV4POOL_CIDR: "192.168.0.0/16", FELIX_HEALTHENABLED: "true" });
      const kind: Json = parseYaml(read(path.join(__dirname, "kind-config.yaml")));
      expect(kind.networking.podSubnet).toBe(env.CALICO_IPV4POOL_CIDR);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the kind cluster has one control plane and two workers and no default CNI", () => {
    const kind: Json = parseYaml(read(path.join(__dirname, "kind-config.yaml")));
    expect(kind.networking.disableDefaultCNI).toBe(true);
    expect(kind.nodes.map((n: Json) => n.role)).toEqual(["control-plane", "worker", "worker"]);
  });

  test("the smoke test's objects are valid Kubernetes objects", () => {
    const text = ["workloads.yaml", "deny-ingress.yaml", "allow-other-node.yaml"]
      .map((f) => read(path.join(__dirname, "smoke", f)))
      .join("\n---\n")
      .replace(/__NODE_A__/g, "ptables-e2e-worker")
      .replace(/__NODE_B__/g, "ptables-e2e-worker2")
      .replace(/__AGNHOST__/g, "registry.k8s.io/e2e-test-images/agnhost:2.43");
    const docs: Json[] = parseAllDocuments(text).map((d) => d.toJS()).filter((d) => d);
    const MODELS: Record<string, (o: Json) => { validate(): void }> = { Namespace: (o) => new Namespace(o), Pod: (o) => new Pod(o), NetworkPolicy: (o) => new NetworkPolicy(o) };
    expect(docs.map((d) => d.kind)).toEqual(["Namespace", "Pod", "Pod", "Pod", "NetworkPolicy", "NetworkPolicy"]);
    for (const d of docs) expect(() => MODELS[d.kind]!(d).validate()).not.toThrow();
  });
});

describe("compare-rendered.cjs", () => {
  test("sees the same objects through formatting, comments and order", () => {
    const reordered = [...renderedText.split(/^---$/m)].reverse().join("\n---\n").replace(/^# .*$/gm, "");
    expect(compareRendered(renderedText, reordered)).toEqual([]);
    const json = rendered.map((d) => JSON.stringify(d)).join("\n---\n");
    expect(compareRendered(renderedText, json)).toEqual([]);
  });

  test("reports a changed value, a missing object and a changed config file entry", () => {
    const changed = renderedText.replace("containerPort: 9191", "containerPort: 9291");
    expect(compareRendered(renderedText, changed)).toEqual(["DaemonSet/ptables.spec.template.spec.containers[1].ports[0].containerPort: 9291, expected 9191"]);
    const withoutSa = renderedText.replace(/kind: ServiceAccount/, "kind: ServiceAccountX");
    expect(compareRendered(renderedText, withoutSa)).toEqual(["ServiceAccountX/ptables: not in the expected rendering", "ServiceAccount/ptables: missing from the actual rendering"]);
    const config = renderedText.replace("    logLevel: info", "    logLevel: debug");
    expect(compareRendered(renderedText, config)).toEqual(['ConfigMap/ptables.data.config.yaml.logLevel: "debug", expected "info"']);
  });
});
