import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError, configEnvNames, configFileKeys, defaultConfig, loadConfig } from "./config";

describe("loadConfig", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-config-"));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function writeFile(name: string, text: string): string {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  }

  function errorOf(fn: () => unknown): ConfigError {
    try {
      fn();
    } catch (err) {
      if (err instanceof ConfigError) return err;
      throw err;
    }
    throw new Error("expected a ConfigError");
  }

  test("an empty environment gives the documented defaults", () => {
    const cfg = loadConfig({});
    expect(cfg).toEqual(defaultConfig());
    expect(cfg.runDir).toBe("/var/run/ptables");
    expect(cfg.stateDir).toBe("/var/lib/ptables");
    expect(cfg.bpfDir).toBe("/sys/fs/bpf/ptables");
    expect(cfg.logLevel).toBe("info");
    expect(cfg.logFormat).toBe("text");
    expect(cfg.backend).toBe("ebpf");
    expect(cfg.maxFrameBytes).toBe(64 * 1024 * 1024);
    expect(cfg.flowScanSecs).toBe(10);
    expect(cfg.flowTimeouts).toEqual({ tcpEstablished: 3600, tcpTransient: 30, udp: 60, icmp: 10, other: 60 });
  });

  test("environment variables set every key", () => {
    const cfg = loadConfig({
      PTABLES_RUN_DIR: "/run/pt2/",
      PTABLES_STATE_DIR: "/var/lib/pt2",
      PTABLES_BPF_DIR: "/sys/fs/bpf/pt2",
      PTABLES_LOG_LEVEL: "DEBUG",
      PTABLES_LOG_FORMAT: "json",
      PTABLES_BACKEND: "reference",
      PTABLES_MAX_FRAME_BYTES: "1048576",
      PTABLES_FLOW_SCAN_SECS: "3",
      PTABLES_FLOW_TIMEOUT_UDP_SECS: "120",
    });
    expect(cfg.runDir).toBe("/run/pt2");
    expect(cfg.logLevel).toBe("debug");
    expect(cfg.logFormat).toBe("json");
    expect(cfg.backend).toBe("reference");
    expect(cfg.maxFrameBytes).toBe(1048576);
    expect(cfg.flowScanSecs).toBe(3);
    expect(cfg.flowTimeouts.udp).toBe(120);
    expect(cfg.flowTimeouts.icmp).toBe(10);
  });

  test("empty environment values count as unset", () => {
    expect(loadConfig({ PTABLES_LOG_LEVEL: "", PTABLES_RUN_DIR: "  " })).toEqual(defaultConfig());
  });

  test("a YAML file sets keys and the environment overrides it", () => {
    const file = writeFile("c.yaml", "runDir: /run/a\nlogLevel: warn\nflowScanSecs: 5\n");
    const cfg = loadConfig({ PTABLES_CONFIG_FILE: file, PTABLES_LOG_LEVEL: "error" });
    expect(cfg.runDir).toBe("/run/a");
    expect(cfg.flowScanSecs).toBe(5);
    expect(cfg.logLevel).toBe("error");
    expect(cfg.configFile).toBe(file);
  });

  test("a JSON file works too", () => {
    const file = writeFile("c.json", JSON.stringify({ backend: "reference", maxFrameBytes: 4096 }));
    const cfg = loadConfig({ PTABLES_CONFIG_FILE: file });
    expect(cfg.backend).toBe("reference");
    expect(cfg.maxFrameBytes).toBe(4096);
  });

  test("an unknown file key names the key and the file", () => {
    const file = writeFile("c.yaml", "runDir: /run/a\nrun_dir: /run/b\n");
    const err = errorOf(() => loadConfig({ PTABLES_CONFIG_FILE: file }));
    expect(err.key).toBe("run_dir");
    expect(err.message).toContain(file);
    expect(err.message).toContain("unknown key");
  });

  test("bad values name the variable and the reason", () => {
    expect(errorOf(() => loadConfig({ PTABLES_LOG_LEVEL: "verbose" })).message).toBe(
      'environment: PTABLES_LOG_LEVEL: "verbose" is not one of error|warn|info|debug',
    );
    expect(errorOf(() => loadConfig({ PTABLES_RUN_DIR: "run/here" })).key).toBe("PTABLES_RUN_DIR");
    expect(errorOf(() => loadConfig({ PTABLES_MAX_FRAME_BYTES: "64MiB" })).message).toContain("not a whole number");
    expect(errorOf(() => loadConfig({ PTABLES_FLOW_SCAN_SECS: "0" })).message).toContain("outside 1..3600");
    expect(errorOf(() => loadConfig({ PTABLES_BACKEND: "dpdk" })).key).toBe("PTABLES_BACKEND");
  });

  test("a bad value in the file names the file key", () => {
    const file = writeFile("c.yaml", "logFormat: xml\n");
    const err = errorOf(() => loadConfig({ PTABLES_CONFIG_FILE: file }));
    expect(err.key).toBe("logFormat");
    expect(err.source).toBe(`config file ${file}`);
  });

  test("non-scalar values, non-mapping files and YAML syntax errors are refused", () => {
    expect(errorOf(() => loadConfig({ PTABLES_CONFIG_FILE: writeFile("a.yaml", "runDir: [a, b]\n") })).message).toContain("got a list");
    expect(errorOf(() => loadConfig({ PTABLES_CONFIG_FILE: writeFile("b.yaml", "- a\n- b\n") })).message).toContain("must be a mapping");
    expect(errorOf(() => loadConfig({ PTABLES_CONFIG_FILE: writeFile("c.yaml", "runDir: : :\n  x\n") })).message).toContain("not valid YAML/JSON");
  });

  test("an unreadable or relative config file is refused", () => {
    const missing = path.join(dir, "missing.yaml");
    const err = errorOf(() => loadConfig({ PTABLES_CONFIG_FILE: missing }));
    expect(err.message).toBe(`config file ${missing}: cannot read: ENOENT`);
    expect(errorOf(() => loadConfig({ PTABLES_CONFIG_FILE: "c.yaml" })).key).toBe("PTABLES_CONFIG_FILE");
  });

  test("an empty file sets nothing", () => {
    expect(loadConfig({ PTABLES_CONFIG_FILE: writeFile("e.yaml", "") })).toMatchObject({ runDir: "/var/run/ptables" });
  });

  test("health and metrics: ports outside 9090-9099 and 8888 by default, health on loopback", () => {
    const cfg = defaultConfig();
    expect(cfg.httpPorts).toEqual({ felixProxy: 9190, policyProgrammer: 9191, arpResponder: 9192, offloadDaemon: 9193 });
    for (const port of Object.values(cfg.httpPorts)) expect(port === 8888 || (port >= 9090 && port <= 9099)).toBe(false);
    expect(cfg.healthHost).toBe("127.0.0.1");
    expect(cfg.metricsHost).toBe("0.0.0.0");
  });

  test("ports and hosts come from the environment or the file; 0 turns a server off", () => {
    const file = writeFile("c.yaml", "policyProgrammerHttpPort: 19191\nmetricsHost: '::'\n");
    const cfg = loadConfig({ PTABLES_CONFIG_FILE: file, PTABLES_OFFLOAD_DAEMON_HTTP_PORT: "0", PTABLES_HEALTH_HOST: "::1" });
    expect(cfg.httpPorts).toEqual({ felixProxy: 9190, policyProgrammer: 19191, arpResponder: 9192, offloadDaemon: 0 });
    expect([cfg.healthHost, cfg.metricsHost]).toEqual(["::1", "::"]);
  });

  test("bad ports and hosts are refused, naming the setting", () => {
    expect(errorOf(() => loadConfig({ PTABLES_ARP_RESPONDER_HTTP_PORT: "65536" })).message).toBe("environment: PTABLES_ARP_RESPONDER_HTTP_PORT: 65536 is outside 0..65535");
    expect(errorOf(() => loadConfig({ PTABLES_HEALTH_HOST: "localhost" })).message).toBe('environment: PTABLES_HEALTH_HOST: "localhost" is not an IP address');
    const file = writeFile("c.yaml", "metricsHost: 10.0.0.300\n");
    expect(errorOf(() => loadConfig({ PTABLES_CONFIG_FILE: file })).key).toBe("metricsHost");
  });

  test("two agents on one port are refused: one of them would never listen", () => {
    const err = errorOf(() => loadConfig({ PTABLES_ARP_RESPONDER_HTTP_PORT: "9191" }));
    expect(err.key).toBe("PTABLES_ARP_RESPONDER_HTTP_PORT");
    expect(err.message).toBe("environment: PTABLES_ARP_RESPONDER_HTTP_PORT: port 9191 is already used by policyProgrammerHttpPort (PTABLES_POLICY_PROGRAMMER_HTTP_PORT)");
    const file = writeFile("c.yaml", "felixProxyHttpPort: 9000\noffloadDaemonHttpPort: 9000\n");
    expect(errorOf(() => loadConfig({ PTABLES_CONFIG_FILE: file })).key).toBe("offloadDaemonHttpPort");
    expect(loadConfig({ PTABLES_FELIX_PROXY_HTTP_PORT: "0", PTABLES_ARP_RESPONDER_HTTP_PORT: "0" }).httpPorts.felixProxy).toBe(0);
  });

  test("every variable the docs must describe is listed", () => {
    const names = configEnvNames();
    for (const n of ["PTABLES_RUN_DIR", "PTABLES_STATE_DIR", "PTABLES_BPF_DIR", "PTABLES_LOG_LEVEL", "PTABLES_LOG_FORMAT", "PTABLES_BACKEND", "PTABLES_MAX_FRAME_BYTES", "PTABLES_FLOW_SCAN_SECS", "PTABLES_CONFIG_FILE"]) {
      expect(names).toContain(n);
    }
    const doc = fs.readFileSync(path.join(__dirname, "../../../docs/configuration.md"), "utf8");
    for (const n of names) expect(doc).toContain(n);
    for (const k of configFileKeys()) expect(doc).toContain(`\`${k}\``);
  });
});
