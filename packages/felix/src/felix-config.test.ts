import { defaultDataplaneConfig } from "@ptables/api";
import { configFromFelix, defaultFelixSettings, failsafePorts } from "./felix-config";

describe("configFromFelix", () => {
  test("nothing sent = Felix's defaults", () => {
    expect(configFromFelix({})).toEqual({ config: defaultDataplaneConfig(), settings: defaultFelixSettings(), problems: [] });
  });

  test("every key ptables uses overrides its default; keys are matched case-insensitively", () => {
    const { config, settings, problems } = configFromFelix({
      interfaceprefix: "tap",
      FailsafeInboundHostPorts: "tcp:22, UDP:68 ,22",
      FailsafeOutboundHostPorts: "none",
      DefaultEndpointToHostAction: "Return",
      VXLANPort: "8472",
      VXLANVNI: "1",
      VXLANMTU: "1400",
      AllowVXLANPacketsFromWorkloads: "t",
      AllowIPIPPacketsFromWorkloads: "0",
      FelixHostname: "node-1.example",
      ReportingIntervalSecs: "2.5",
      IptablesMarkMask: "0xffff0000",
      VXLANMTUV6: "1380",
      IpInIpMtu: "1480",
      programclusterroutes: "enabledipiponly",
      RouteRefreshInterval: "1m30.5s",
    });
    expect(problems).toEqual([]);
    expect(config).toEqual({
      interfacePrefix: "tap",
      failsafeInbound: ["tcp:22", "udp:68"],
      failsafeOutbound: [],
      defaultEndpointToHostAction: "RETURN",
      vxlanPort: 8472,
      vxlanVni: 1,
      vxlanMtu: 1400,
      allowVxlanPacketsFromWorkloads: true,
      allowIpipPacketsFromWorkloads: false,
      hostname: "node-1.example",
      vxlanMtuV6: 1380,
      ipipMtu: 1480,
      programClusterRoutes: "EnabledIPIPOnly",
      routeRefreshIntervalSecs: 91,
      serviceNets: [],
    });
    expect(settings).toEqual({ reportingIntervalSecs: 2.5, hostname: "node-1.example" });
  });

  test.each([
    ["InterfacePrefix", "cali!"],
    ["FailsafeInboundHostPorts", "tcp:99999"],
    ["FailsafeInboundHostPorts", "icmp:22"],
    ["FailsafeInboundHostPorts", "tcp:10.0.0.0/8:22"],
    ["DefaultEndpointToHostAction", "REJECT"],
    ["VXLANPort", "0"],
    ["VXLANVNI", "16777216"],
    ["VXLANMTU", "1e3"],
    ["AllowVXLANPacketsFromWorkloads", "maybe"],
    ["FelixHostname", "bad host"],
    ["ReportingIntervalSecs", "soon"],
    ["ProgramClusterRoutes", "BIRD"],
    ["RouteRefreshInterval", "90 seconds"],
    ["RouteRefreshInterval", "25h"],
    ["IpInIpMtu", "-1"],
  ])("a bad %s (%j) keeps the default and is reported", (key, value) => {
    const { config, settings, problems } = configFromFelix({ [key]: value });
    expect(config).toEqual(defaultDataplaneConfig());
    expect(settings).toEqual(defaultFelixSettings());
    expect(problems).toHaveLength(1);
    expect(problems[0].key).toBe(key);
    expect(problems[0].reason).toMatch(new RegExp(`^config ${key}: .*; keeping the default$`));
  });

  test("an empty value is not set: the default stays", () => {
    expect(configFromFelix({ FailsafeInboundHostPorts: "", VXLANPort: " " })).toEqual({
      config: defaultDataplaneConfig(),
      settings: defaultFelixSettings(),
      problems: [],
    });
  });

  test("RouteRefreshInterval takes plain seconds or a Go duration", () => {
    expect(configFromFelix({ RouteRefreshInterval: "0" }).config.routeRefreshIntervalSecs).toBe(0);
    expect(configFromFelix({ RouteRefreshInterval: "30" }).config.routeRefreshIntervalSecs).toBe(30);
    expect(configFromFelix({ RouteRefreshInterval: "2m" }).config.routeRefreshIntervalSecs).toBe(120);
    expect(configFromFelix({ RouteRefreshInterval: "1500ms" }).config.routeRefreshIntervalSecs).toBe(2);
  });

  test("one bad key does not affect the others", () => {
    const { config, problems } = configFromFelix({ VXLANPort: "x", VXLANVNI: "5" });
    expect(config.vxlanPort).toBe(4789);
    expect(config.vxlanVni).toBe(5);
    expect(problems.map((p) => p.key)).toEqual(["VXLANPort"]);
  });
});

describe("failsafePorts", () => {
  test("Felix's forms: proto:port, bare port (tcp), proto:net:port with a catch-all net", () => {
    expect(failsafePorts("tcp:22,udp:68,179,sctp:9", "p")).toEqual(["tcp:22", "udp:68", "tcp:179", "sctp:9"]);
    expect(failsafePorts("tcp:0.0.0.0/0:22,udp:[::]/0:53,udp:::/0:67", "p")).toEqual(["tcp:22", "udp:53", "udp:67"]);
    expect(failsafePorts("", "p")).toEqual([]);
  });

  test("a net narrower than everything is refused rather than widened", () => {
    expect(() => failsafePorts("tcp:192.168.0.0/16:22", "config FailsafeInboundHostPorts")).toThrow(
      'limiting a failsafe port to 192.168.0.0/16 is not supported',
    );
  });
});
