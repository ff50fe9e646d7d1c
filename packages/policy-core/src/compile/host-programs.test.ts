/**
 * Failsafe rules and the endpoint-to-host program, run through the table interpreter (what
 * every backend executes) with the set entries the programs ask for.
 */
import { DropReason, ValidationError } from "@ptables/api";
import { createModelLookup, type Packet } from "../index";
import { runProgram } from "../interpret/run-program";
import { TableSetLookup } from "../interpret/table-set-lookup";
import { allow, deny, hostEndpoint, pass, policy, tier } from "../testing/builders";
import { tcp, udp } from "../testing/packets";
import { compileHostEndpointProgram } from "./compile-program";
import { endpointToHostProgram, hostErrorProgram, parseFailsafePorts, withFailsafes, withHostTunnels } from "./host-programs";
import { programSetEntries } from "./program-entries";
import type { CompiledProgram } from "./program";

const lookup = createModelLookup({});
const FAILSAFE_IN = parseFailsafePorts(["tcp:22", "udp:68", "tcp:6443"]);

function run(program: CompiledProgram, packet: Packet): string {
  const { members, ports } = programSetEntries(program, lookup);
  const r = runProgram(program.rules, TableSetLookup.from(members, ports), packet);
  return r.verdict === "deny" ? `deny/${DropReason[r.reason]}` : r.verdict;
}

describe("failsafe ports", () => {
  test("parse: protocol names and ports; anything else is rejected naming the entry", () => {
    expect(parseFailsafePorts(["tcp:22", "udp:68", "sctp:9"])).toEqual([
      { proto: 6, port: 22 },
      { proto: 17, port: 68 },
      { proto: 132, port: 9 },
    ]);
    expect(() => parseFailsafePorts(["tcp:22", "gre:1"])).toThrow(/"gre:1"/);
    expect(() => parseFailsafePorts(["tcp:70000"])).toThrow(ValidationError);
  });

  test("allow mode: failsafe ports pass a deny-all program, other ports and protocols do not", () => {
    const denyAll = policy("deny-all", { inbound: [deny()] });
    const hep = hostEndpoint({ tiers: [tier("default", { ingress: [denyAll] })] });
    const compiled = compileHostEndpointProgram(hep, "normal", "ingress", createModelLookup({ policies: [denyAll] }), { maxRulesPerProgram: 100 });
    const program = withFailsafes(compiled, FAILSAFE_IN, "allow");
    expect(program.rules.length).toBe(compiled.rules.length + 2); // one rule per protocol
    expect(run(program, tcp("10.0.0.9:40000", "10.0.0.1:22"))).toBe("allow");
    expect(run(program, tcp("10.0.0.9:40000", "10.0.0.1:6443"))).toBe("allow");
    expect(run(program, udp("10.0.0.9:67", "10.0.0.1:68"))).toBe("allow");
    expect(run(program, tcp("10.0.0.9:40000", "10.0.0.1:80"))).toBe("deny/PolicyDeny");
    expect(run(program, udp("10.0.0.9:40000", "10.0.0.1:22"))).toBe("deny/PolicyDeny");
  });

  test("skip mode: failsafe traffic makes no decision; jumps of the program still land on their rules", () => {
    // pass, then an allow for port 80 in the next tier: the PASS is a Jump that must be moved.
    const passFirst = policy("pass-first", { inbound: [pass({ protocol: 6 }), deny()] });
    const allow80 = policy("allow-80", { inbound: [allow({ protocol: 6, dstPorts: [{ first: 80, last: 80 }] }), deny()] });
    const hep = hostEndpoint({
      untrackedTiers: [tier("one", { ingress: [passFirst], defaultAction: "pass" }), tier("two", { ingress: [allow80], defaultAction: "pass" })],
    });
    const compiled = compileHostEndpointProgram(hep, "untracked", "ingress", createModelLookup({ policies: [passFirst, allow80] }), { maxRulesPerProgram: 100 });
    const program = withFailsafes(compiled, FAILSAFE_IN, "skip");
    expect(run(compiled, tcp("10.0.0.9:40000", "10.0.0.1:80"))).toBe("allow");
    expect(run(program, tcp("10.0.0.9:40000", "10.0.0.1:80"))).toBe("allow");
    expect(run(program, tcp("10.0.0.9:40000", "10.0.0.1:22"))).toBe("continue");
    expect(run(program, tcp("10.0.0.9:40000", "10.0.0.1:81"))).toBe("deny/PolicyDeny");
    expect(run(program, udp("10.0.0.9:40000", "10.0.0.1:81"))).toBe("deny/PolicyDeny");
  });

  test("no failsafe ports: the program is unchanged", () => {
    const p = hostErrorProgram([]);
    expect(withFailsafes(p, [], "allow")).toBe(p);
  });

  test("the error program of a host endpoint drops everything but the failsafes", () => {
    const program = hostErrorProgram(FAILSAFE_IN);
    expect(run(program, tcp("10.0.0.9:40000", "10.0.0.1:22"))).toBe("allow");
    expect(run(program, tcp("10.0.0.9:40000", "10.0.0.1:23"))).toBe("deny/ProgramError");
  });
});

describe("tunnels between Calico hosts", () => {
  const denyAll = policy("deny-all", { inbound: [deny()], outbound: [deny()] });
  const hep = hostEndpoint({ tiers: [tier("default", { ingress: [denyAll], egress: [denyAll] })] });
  const compile = (direction: "ingress" | "egress") => compileHostEndpointProgram(hep, "normal", direction, createModelLookup({ policies: [denyAll] }), { maxRulesPerProgram: 100 });
  const tunnels = { peers: ["10.0.0.2", "10.0.0.3/32", "fd00::2"], vxlanPort: 4789, ipip: true };

  test("VXLAN and IPIP from the other hosts pass a deny-all normal ingress program; from anyone else they do not", () => {
    const program = withHostTunnels(compile("ingress"), tunnels, "ingress");
    expect(run(program, udp("10.0.0.2:51000", "10.0.0.1:4789"))).toBe("allow");
    expect(run(program, udp("10.0.0.9:51000", "10.0.0.1:4789"))).toBe("deny/PolicyDeny");
    expect(run(program, udp("10.0.0.2:51000", "10.0.0.1:4790"))).toBe("deny/PolicyDeny");
    expect(run(program, { family: 4, srcIp: "10.0.0.3", dstIp: "10.0.0.1", proto: 4 })).toBe("allow");
    expect(run(program, { family: 4, srcIp: "10.0.0.9", dstIp: "10.0.0.1", proto: 4 })).toBe("deny/PolicyDeny");
  });

  test("egress: to the other hosts; only the encapsulations in use; no peers or none in use changes nothing", () => {
    const egress = withHostTunnels(compile("egress"), { ...tunnels, ipip: false }, "egress");
    expect(run(egress, udp("10.0.0.1:51000", "10.0.0.2:4789"))).toBe("allow");
    expect(run(egress, udp("10.0.0.1:51000", "10.0.0.9:4789"))).toBe("deny/PolicyDeny");
    expect(run(egress, { family: 4, srcIp: "10.0.0.1", dstIp: "10.0.0.2", proto: 4 })).toBe("deny/PolicyDeny");
    const base = compile("egress");
    expect(withHostTunnels(base, { peers: [], vxlanPort: 4789, ipip: true }, "egress")).toBe(base);
    expect(withHostTunnels(base, { peers: ["10.0.0.2"], ipip: false }, "egress")).toBe(base);
  });
});

describe("DefaultEndpointToHostAction", () => {
  const pkt = tcp("10.65.0.2:40000", "10.0.0.1:10250");

  test("DROP drops with endpoint-to-host, ACCEPT allows, RETURN without a * host endpoint allows", () => {
    expect(run(endpointToHostProgram("DROP"), pkt)).toBe("deny/EndpointToHost");
    expect(run(endpointToHostProgram("ACCEPT"), pkt)).toBe("allow");
    expect(run(endpointToHostProgram("RETURN"), pkt)).toBe("allow");
    expect(() => endpointToHostProgram("REJECT")).toThrow(ValidationError);
  });

  test("RETURN with a * host endpoint runs its normal ingress program", () => {
    const allowKubelet = policy("kubelet", { inbound: [allow({ protocol: 6, dstPorts: [{ first: 10250, last: 10250 }] })] });
    const star = hostEndpoint({ ifname: "*", tiers: [tier("default", { ingress: [allowKubelet] })] });
    const starIngress = compileHostEndpointProgram(star, "normal", "ingress", createModelLookup({ policies: [allowKubelet] }), { maxRulesPerProgram: 100 });
    const program = endpointToHostProgram("RETURN", starIngress);
    expect(run(program, pkt)).toBe("allow");
    expect(run(program, tcp("10.65.0.2:40000", "10.0.0.1:22"))).toBe("deny/EndOfTier");
  });
});
