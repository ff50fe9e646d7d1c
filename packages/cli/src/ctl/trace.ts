/**
 * `ptablesctl trace <endpoint> <packet>`: what the live policy does with a packet at an
 * endpoint, and which tier, policy and rule decide it (the programmer's Trace RPC runs the
 * reference evaluator on the state it is programming).
 */
import * as net from "node:net";
import type { sync } from "@ptables/proto";
import { EXIT_DENIED, EXIT_OK } from "../cli-io";
import type { Command } from "../command";
import { UsageError } from "../command";
import { withAgent, type AgentConnection } from "./agents";
import { parseCtlArgs, printJson } from "./options";
import { PACKET_SYNTAX, formatPacket, parsePacket, type TracePacket } from "./packet";
import { parseState } from "./state-views";

const HELP = `Usage: ptablesctl trace <endpoint> <packet> [--direction ingress|egress] [--json] [--run-dir <dir>]

Evaluates the endpoint's live policy for one packet and shows the verdict and the tier, policy
and rule that decide it, with the evaluation steps.

Arguments:
  <endpoint>   A workload endpoint key, its interface name, or a host endpoint key
  <packet>     ${PACKET_SYNTAX}.
               Quote it: the shell would take '>' for a redirection.
               e.g. 'tcp 10.65.0.2:1234 -> 10.65.0.3:8080', 'udp [fd00::2]:53 -> [fd00::3]:53',
                    'icmp 10.65.0.2 -> 10.65.0.3 type 8 code 0'

Options:
  --direction ingress|egress   ingress: to the endpoint; egress: from it. Default: ingress if
                               the destination is one of the endpoint's addresses, egress if
                               the source is

Exit status: 0 if the packet is allowed; 4 if it is denied; 1 if the trace failed; 2 for a bad
command line or an unknown endpoint; 3 if the programmer cannot be reached.`;

/** Whether `ip` is inside one of `cidrs` ("10.65.0.2/32", "fd00::/64"). */
export function inNets(ip: string, cidrs: readonly string[]): boolean {
  const family = net.isIP(ip) === 6 ? "ipv6" : "ipv4";
  const list = new net.BlockList();
  for (const cidr of cidrs) {
    const [addr, len] = cidr.split("/");
    const f = net.isIP(addr ?? "");
    if (f === 0) continue;
    list.addSubnet(addr!, len === undefined ? (f === 6 ? 128 : 32) : Number(len), f === 6 ? "ipv6" : "ipv4");
  }
  return list.check(ip, family);
}

/** The direction a packet has at an endpoint with these addresses, when not given. */
export function inferDirection(packet: TracePacket, addresses: readonly string[]): "ingress" | "egress" {
  if (inNets(packet.dstIp, addresses)) return "ingress";
  if (inNets(packet.srcIp, addresses)) return "egress";
  throw new UsageError("--direction", `the endpoint's addresses (${addresses.join(", ") || "none"}) are neither the source nor the destination; give --direction ingress|egress`);
}

async function directionFor(c: AgentConnection, endpoint: string, packet: TracePacket, given: string | undefined): Promise<"ingress" | "egress"> {
  if (given !== undefined) {
    if (given !== "ingress" && given !== "egress") throw new UsageError("--direction", `'${given}' is not ingress or egress`);
    return given;
  }
  const { model } = parseState(await c.state(endpoint));
  return inferDirection(packet, model.endpoint?.addresses ?? []);
}

function decidedBy(res: sync.TraceResponse): string {
  const parts: string[] = [];
  if (res.tier) parts.push(`tier ${res.tier}`);
  if (res.policy) parts.push(res.policy.startsWith("profile ") ? res.policy : `policy ${res.policy}`);
  if (res.ruleIndex >= 0) parts.push(`rule ${res.ruleIndex}`);
  return parts.length ? parts.join(", ") : "no rule (a default)";
}

export const traceCommand: Command = {
  name: "trace",
  summary: "Verdict for a packet at an endpoint, and the rule deciding it",
  help: HELP,
  async run(args, io) {
    const { positionals, options, runDir, json } = parseCtlArgs(args, io, { direction: "string" }, ["endpoint", ...Array.from({ length: 16 }, () => "packet")]);
    const [endpoint, ...packetWords] = positionals;
    if (endpoint === undefined) throw new UsageError("endpoint", "missing (give a workload endpoint key, an interface name or a host endpoint key)");
    if (packetWords.length === 0) throw new UsageError("packet", `missing (expected ${PACKET_SYNTAX})`);
    const packet = parsePacket(packetWords.join(" "));
    const { res, direction } = await withAgent(runDir, "policy-programmer", async (c) => {
      const direction = await directionFor(c, endpoint, packet, options.direction as string | undefined);
      const { family: _family, ...fields } = packet;
      return { direction, res: await c.trace({ endpoint, direction, ...fields }) };
    });
    if (json) printJson(io, { endpoint, direction, packet: formatPacket(packet), ...res });
    else {
      io.out(`${direction} ${direction === "ingress" ? "to" : "from"} ${endpoint}: ${formatPacket(packet)}`);
      io.out(`verdict: ${res.verdict}`);
      io.out(`decided by: ${decidedBy(res)}`);
      io.out(`reason: ${res.reason}`);
      if (res.steps.length) {
        io.out("steps:");
        for (const s of res.steps) io.out(`  ${s}`);
      }
    }
    return res.verdict === "allow" ? EXIT_OK : EXIT_DENIED;
  },
};
