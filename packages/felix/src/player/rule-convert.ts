/**
 * Calico v3 rules to Felix's protobuf rules, the way the datastore syncer and Felix's calculation
 * graph do it:
 *  1. libcalico-go updateprocessors/rules.go folds namespace, namespaceSelector and
 *     serviceAccounts into one selector per side (namespaced policies only see their namespace;
 *     namespace labels get the `pcns.` prefix, service-account labels `pcsa.`);
 *  2. felix/calc/rule_scanner.go folds a notSelector into the positive selector when there is
 *     one, turns selectors into `s:` IP sets and named ports into `n:` IP_AND_PORT sets (a
 *     side's selector set is dropped when that side has named ports but no numeric ports);
 *  3. felix/calc/rule_convert.go builds the proto rule (Pass becomes "next-tier", ICMP implies
 *     the IP version) and fills in rule ids.
 */
import { felix } from "@ptables/proto";
import { fillInRuleIds, makeUniqueId } from "./felix-ids";
import type { EntitySpec, IcmpSpec, PortSpec, ProtocolSpec, RuleSpec, ServiceAccountMatchSpec } from "./scenario-types";
import { Selector, normaliseSelector } from "./selector";

export const LABEL_NAMESPACE = "projectcalico.org/namespace";
export const LABEL_SERVICE_ACCOUNT = "projectcalico.org/serviceaccount";
export const LABEL_ORCHESTRATOR = "projectcalico.org/orchestrator";
export const LABEL_NAME = "projectcalico.org/name";
export const NAMESPACE_LABEL_PREFIX = "pcns.";
export const SERVICE_ACCOUNT_LABEL_PREFIX = "pcsa.";

export type NamedPortProtocol = "tcp" | "udp" | "sctp";

/** An IP set some rule needs: a selector set (NET) or a named-port set (IP_AND_PORT). */
export type IpSetDef =
  | { id: string; kind: "selector"; selector: Selector }
  | { id: string; kind: "namedPort"; selector: Selector; protocol: NamedPortProtocol; portName: string };

/** Rules converted for one policy or profile, plus every IP set they reference. */
export interface ConvertedRules {
  inbound: felix.Rule[];
  outbound: felix.Rule[];
  ipSets: Map<string, IpSetDef>;
}

/** Parses `selector`, prefixes every label, and prints it canonically (parseSelectorAttachPrefix). */
export function prefixSelector(selector: string, prefix: string): string {
  return Selector.parse(selector).withLabelPrefix(prefix).toString();
}

function serviceAccountSelector(match: ServiceAccountMatchSpec): string {
  const bySelector = match.selector ? prefixSelector(match.selector, SERVICE_ACCOUNT_LABEL_PREFIX) : "";
  if (match.names.length === 0) return bySelector;
  const byName = normaliseSelector(`${LABEL_SERVICE_ACCOUNT} in { '${match.names.join("', '")}' }`);
  return bySelector ? `(${bySelector}) && (${byName})` : byName;
}

/** One selector for everything an EntityRule's selectors say (GetEntityRuleSelector). */
export function entityRuleSelector(entity: EntitySpec, namespace: string | undefined): string {
  let nsSelector = "";
  if (entity.namespaceSelector) {
    nsSelector = prefixSelector(entity.namespaceSelector, NAMESPACE_LABEL_PREFIX)
      .replaceAll("all()", `has(${LABEL_NAMESPACE})`)
      .replaceAll("global()", `!has(${LABEL_NAMESPACE})`);
  } else if (namespace) {
    nsSelector = `${LABEL_NAMESPACE} == '${namespace}'`;
  }
  const selectors = [entity.serviceAccounts ? serviceAccountSelector(entity.serviceAccounts) : "", entity.selector ?? ""].filter((s) => s !== "");
  let selector = selectors.length === 0 ? "" : selectors.length === 1 ? selectors[0] : `(${selectors.join(") && (")})`;
  if (nsSelector && (selector || entity.notSelector || entity.namespaceSelector)) {
    selector = selector ? `(${nsSelector}) && (${selector})` : nsSelector;
  }
  return selector;
}

function protocolToProto(protocol: ProtocolSpec | undefined): felix.Protocol | undefined {
  if (protocol === undefined) return undefined;
  return { numberOrName: typeof protocol === "number" ? { $case: "number", value: protocol } : { $case: "name", value: protocol } };
}

function namedPortProtocol(protocol: ProtocolSpec | undefined): NamedPortProtocol {
  if (protocol === "udp" || protocol === 17) return "udp";
  if (protocol === "sctp" || protocol === 132) return "sctp";
  return "tcp"; // Felix's default, also when the rule has no protocol.
}

function ipVersionToProto(rule: RuleSpec): felix.IPVersion {
  const version = rule.ipVersion ?? (rule.protocol === "icmp" ? 4 : rule.protocol === "icmpv6" ? 6 : undefined);
  return version === 4 ? felix.IPVersion.IPV4 : version === 6 ? felix.IPVersion.IPV6 : felix.IPVersion.ANY;
}

function icmpMatch(icmp: IcmpSpec | undefined): felix.Rule["icmp"] {
  if (!icmp) return undefined;
  return icmp.code === undefined ? { $case: "icmpType", value: icmp.type } : { $case: "icmpTypeCode", value: { type: icmp.type, code: icmp.code } };
}

function notIcmpMatch(icmp: IcmpSpec | undefined): felix.Rule["notIcmp"] {
  if (!icmp) return undefined;
  return icmp.code === undefined
    ? { $case: "notIcmpType", value: icmp.type }
    : { $case: "notIcmpTypeCode", value: { type: icmp.type, code: icmp.code } };
}

function rangesOf(ports: PortSpec[]): felix.PortRange[] {
  return ports.flatMap((p) => (p.kind === "range" ? [{ first: p.first, last: p.last }] : []));
}

function namesOf(ports: PortSpec[]): string[] {
  return ports.flatMap((p) => (p.kind === "named" ? [p.name] : []));
}

/** Both sides' selectors after folding a notSelector into a positive selector, as in combineMatchesIfPossible. */
function sideSelectors(entity: EntitySpec, namespace: string | undefined): { positive?: Selector; negative?: Selector } {
  let positive = entityRuleSelector(entity, namespace);
  let negative = entity.notSelector ?? "";
  if (positive && negative) {
    positive = `(${positive}) && (!(${negative}))`;
    negative = "";
  }
  return { positive: positive ? Selector.parse(positive) : undefined, negative: negative ? Selector.parse(negative) : undefined };
}

/** Converts one rule; the IP sets it references are added to `ipSets`. */
export function convertRule(rule: RuleSpec, namespace: string | undefined, ipSets: Map<string, IpSetDef>): felix.Rule {
  const proto = namedPortProtocol(rule.protocol);
  const selectorSet = (selector: Selector): string => {
    const id = selector.uniqueId();
    ipSets.set(id, { id, kind: "selector", selector });
    return id;
  };
  const namedPortSet = (selector: Selector | undefined, portName: string): string => {
    const sel = selector ?? Selector.parse("all()");
    const id = makeUniqueId("n", `${sel.uniqueId()},${proto},${portName}`);
    ipSets.set(id, { id, kind: "namedPort", selector: sel, protocol: proto, portName });
    return id;
  };
  const side = (entity: EntitySpec) => {
    const { positive, negative } = sideSelectors(entity, namespace);
    const named = namesOf(entity.ports);
    const numeric = rangesOf(entity.ports);
    return {
      nets: entity.nets,
      ports: numeric,
      namedPortIpSetIds: named.map((n) => namedPortSet(positive, n)),
      // A named-port set already restricts to the selector, so the plain set is left out
      // unless numeric ports (which the named-port set cannot express) are present too.
      ipSetIds: positive && (numeric.length > 0 || named.length === 0) ? [selectorSet(positive)] : [],
      notNets: entity.notNets,
      notPorts: rangesOf(entity.notPorts),
      notNamedPortIpSetIds: namesOf(entity.notPorts).map((n) => namedPortSet(positive, n)),
      notIpSetIds: negative ? [selectorSet(negative)] : [],
    };
  };
  const src = side(rule.source);
  const dst = side(rule.destination);
  return felix.Rule.fromPartial({
    action: rule.action === "Pass" ? "next-tier" : rule.action.toLowerCase(),
    ipVersion: ipVersionToProto(rule),
    protocol: protocolToProto(rule.protocol),
    srcNet: src.nets,
    srcPorts: src.ports,
    srcNamedPortIpSetIds: src.namedPortIpSetIds,
    srcIpSetIds: src.ipSetIds,
    dstNet: dst.nets,
    dstPorts: dst.ports,
    dstNamedPortIpSetIds: dst.namedPortIpSetIds,
    dstIpSetIds: dst.ipSetIds,
    notProtocol: protocolToProto(rule.notProtocol),
    notSrcNet: src.notNets,
    notSrcPorts: src.notPorts,
    notSrcNamedPortIpSetIds: src.notNamedPortIpSetIds,
    notSrcIpSetIds: src.notIpSetIds,
    notDstNet: dst.notNets,
    notDstPorts: dst.notPorts,
    notDstNamedPortIpSetIds: dst.notNamedPortIpSetIds,
    notDstIpSetIds: dst.notIpSetIds,
    originalSrcSelector: rule.source.selector ?? "",
    originalSrcNamespaceSelector: rule.source.namespaceSelector ?? "",
    originalNotSrcSelector: rule.source.notSelector ?? "",
    originalDstSelector: rule.destination.selector ?? "",
    originalDstNamespaceSelector: rule.destination.namespaceSelector ?? "",
    originalNotDstSelector: rule.destination.notSelector ?? "",
    srcServiceAccountMatch: rule.source.serviceAccounts && { names: rule.source.serviceAccounts.names, selector: rule.source.serviceAccounts.selector ?? "" },
    dstServiceAccountMatch: rule.destination.serviceAccounts && { names: rule.destination.serviceAccounts.names, selector: rule.destination.serviceAccounts.selector ?? "" },
    icmp: icmpMatch(rule.icmp),
    notIcmp: notIcmpMatch(rule.notICMP),
  });
}

/**
 * Converts a policy's or profile's rule lists. `seeds` are the rule-id seeds Felix uses:
 * "pol-in-default/<name>" / "pol-out-default/<name>" for policies, "prof-in-<name>" /
 * "prof-out-<name>" for profiles.
 */
export function convertRules(
  inbound: RuleSpec[],
  outbound: RuleSpec[],
  namespace: string | undefined,
  seeds: { inbound: string; outbound: string },
): ConvertedRules {
  const ipSets = new Map<string, IpSetDef>();
  const inRules = inbound.map((r) => convertRule(r, namespace, ipSets));
  const outRules = outbound.map((r) => convertRule(r, namespace, ipSets));
  fillInRuleIds(inRules, seeds.inbound);
  fillInRuleIds(outRules, seeds.outbound);
  return { inbound: inRules, outbound: outRules, ipSets };
}
