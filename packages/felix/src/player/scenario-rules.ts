/**
 * Reading policies, profiles and their rules in Calico v3 API shape, with the same checks the
 * Calico API server applies (ports only with port-carrying protocols, ICMP only with ICMP, a
 * code only with a type, nets of the rule's IP version, selectors that parse).
 */
import { formatCidr, parseCidr } from "./ip";
import type {
  EntitySpec,
  IcmpSpec,
  PolicyKind,
  PolicySpec,
  PolicyType,
  PortSpec,
  ProfileSpec,
  ProtocolSpec,
  RuleSpec,
  ServiceAccountMatchSpec,
} from "./scenario-types";
import { GLOBAL_POLICY_KINDS, NAMESPACED_POLICY_KINDS } from "./scenario-types";
import { Selector, SelectorSyntaxError } from "./selector";
import {
  describe,
  fail,
  indexPath,
  keyPath,
  readEnum,
  readInteger,
  readLabels,
  readList,
  readNumber,
  readObject,
  readOptionalString,
  readString,
} from "./validate";

/** Kubernetes object names (RFC 1123 subdomain). */
export const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** Kubernetes port names (IANA_SVC_NAME): at most 15 characters, at least one letter. */
const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

/** Reads a Kubernetes-style object name. */
export function readName(value: unknown, path: string): string {
  const name = readString(value, path, "a name");
  if (!K8S_NAME.test(name)) fail(path, `${describe(name)} is not a valid name (lower-case letters, digits, '-' and '.')`);
  return name;
}

/** Reads a port name as Kubernetes defines it. */
export function readPortName(value: unknown, path: string): string {
  const name = readString(value, path, "a port name");
  if (!PORT_NAME.test(name) || name.includes("--")) {
    fail(path, `${describe(name)} is not a valid port name (1-15 lower-case letters, digits and '-', with a letter)`);
  }
  return name;
}

/** Reads a selector and checks that it parses; returns the text as written. */
export function readSelector(value: unknown, path: string): string {
  const text = readString(value, path, "a selector");
  try {
    Selector.parse(text);
  } catch (err) {
    if (err instanceof SelectorSyntaxError) fail(path, err.message);
    throw err;
  }
  return text;
}

const PROTOCOL_NAMES = ["tcp", "udp", "icmp", "icmpv6", "sctp", "udplite"];
const PORT_PROTOCOLS: ProtocolSpec[] = ["tcp", "udp", "sctp", "udplite", 6, 17, 132, 136];

function readProtocol(value: unknown, path: string): ProtocolSpec {
  if (typeof value === "number") return readInteger(value, path, 1, 255);
  const name = readString(value, path, "a protocol name or number").toLowerCase();
  if (!PROTOCOL_NAMES.includes(name)) fail(path, `unknown protocol ${describe(value)} (expected TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or 1-255)`);
  return name; // Calico's ToV1() lower-cases protocol names.
}

function readIcmp(value: unknown, path: string): IcmpSpec {
  const obj = readObject(value, path, ["type", "code"]);
  if (obj.type === undefined) fail(keyPath(path, "type"), "an ICMP match needs a type (a code alone is not allowed)");
  const type = readInteger(obj.type, keyPath(path, "type"), 0, 254);
  return obj.code === undefined ? { type } : { type, code: readInteger(obj.code, keyPath(path, "code"), 0, 255) };
}

function readPort(value: unknown, path: string): PortSpec {
  if (typeof value === "number") {
    const port = readInteger(value, path, 0, 65535);
    return { kind: "range", first: port, last: port };
  }
  const text = readString(value, path, "a port number, range \"a:b\" or port name");
  const range = /^(\d+)(?::(\d+))?$/.exec(text);
  if (!range) return { kind: "named", name: readPortName(text, path) };
  const first = Number(range[1]);
  const last = range[2] === undefined ? first : Number(range[2]);
  if (first > 65535 || last > 65535 || first > last) fail(path, `${describe(text)} is not a valid port range (0-65535, first <= last)`);
  return { kind: "range", first, last };
}

function readNets(value: unknown, path: string): string[] {
  return readList(value, path).map((item, i) => {
    const text = readString(item, indexPath(path, i), "a CIDR");
    const net = parseCidr(text);
    if (!net) fail(indexPath(path, i), `${describe(text)} is not an IP address or CIDR`);
    return formatCidr(net);
  });
}

function readServiceAccountMatch(value: unknown, path: string): ServiceAccountMatchSpec {
  const obj = readObject(value, path, ["names", "selector"]);
  const names = readList(obj.names, keyPath(path, "names")).map((n, i) => readName(n, indexPath(keyPath(path, "names"), i)));
  const selector = obj.selector === undefined ? undefined : readSelector(obj.selector, keyPath(path, "selector"));
  return selector === undefined ? { names } : { names, selector };
}

const ENTITY_KEYS = ["selector", "notSelector", "namespaceSelector", "serviceAccounts", "nets", "notNets", "ports", "notPorts"];

function readEntity(value: unknown, path: string): EntitySpec {
  const obj = readObject(value ?? {}, path, ENTITY_KEYS);
  const entity: EntitySpec = {
    nets: readNets(obj.nets, keyPath(path, "nets")),
    notNets: readNets(obj.notNets, keyPath(path, "notNets")),
    ports: readList(obj.ports, keyPath(path, "ports")).map((p, i) => readPort(p, indexPath(keyPath(path, "ports"), i))),
    notPorts: readList(obj.notPorts, keyPath(path, "notPorts")).map((p, i) => readPort(p, indexPath(keyPath(path, "notPorts"), i))),
  };
  for (const key of ["selector", "notSelector", "namespaceSelector"] as const) {
    if (obj[key] !== undefined) entity[key] = readSelector(obj[key], keyPath(path, key));
  }
  if (obj.serviceAccounts !== undefined) entity.serviceAccounts = readServiceAccountMatch(obj.serviceAccounts, keyPath(path, "serviceAccounts"));
  return entity;
}

const RULE_KEYS = ["action", "ipVersion", "protocol", "notProtocol", "icmp", "notICMP", "source", "destination"];

/** Reads one rule and applies Calico's cross-field checks. */
export function readRule(value: unknown, path: string): RuleSpec {
  const obj = readObject(value, path, RULE_KEYS);
  const rule: RuleSpec = {
    action: readEnum(obj.action, keyPath(path, "action"), ["Allow", "Deny", "Log", "Pass"] as const),
    source: readEntity(obj.source, keyPath(path, "source")),
    destination: readEntity(obj.destination, keyPath(path, "destination")),
  };
  if (obj.ipVersion !== undefined) {
    const version = readInteger(obj.ipVersion, keyPath(path, "ipVersion"), 4, 6);
    if (version === 5) fail(keyPath(path, "ipVersion"), "expected 4 or 6, got 5");
    rule.ipVersion = version as 4 | 6;
  }
  if (obj.protocol !== undefined) rule.protocol = readProtocol(obj.protocol, keyPath(path, "protocol"));
  if (obj.notProtocol !== undefined) rule.notProtocol = readProtocol(obj.notProtocol, keyPath(path, "notProtocol"));
  for (const key of ["icmp", "notICMP"] as const) {
    if (obj[key] === undefined) continue;
    const icmpProtocols: ProtocolSpec[] = ["icmp", "icmpv6", 1, 58];
    if (rule.protocol === undefined || !icmpProtocols.includes(rule.protocol)) {
      fail(keyPath(path, key), "ICMP matches need protocol ICMP or ICMPv6");
    }
    rule[key] = readIcmp(obj[key], keyPath(path, key));
  }
  checkPortsNeedProtocol(rule, path);
  checkIpVersion(rule, path);
  return rule;
}

function checkPortsNeedProtocol(rule: RuleSpec, path: string): void {
  for (const side of ["source", "destination"] as const) {
    for (const key of ["ports", "notPorts"] as const) {
      if (rule[side][key].length > 0 && (rule.protocol === undefined || !PORT_PROTOCOLS.includes(rule.protocol))) {
        fail(keyPath(keyPath(path, side), key), "ports need protocol TCP, UDP, SCTP or UDPLite");
      }
    }
  }
}

function checkIpVersion(rule: RuleSpec, path: string): void {
  const implied = rule.protocol === "icmp" || rule.protocol === 1 ? 4 : rule.protocol === "icmpv6" || rule.protocol === 58 ? 6 : undefined;
  if (implied !== undefined && rule.ipVersion !== undefined && implied !== rule.ipVersion) {
    fail(keyPath(path, "ipVersion"), `ipVersion ${rule.ipVersion} contradicts protocol ${String(rule.protocol)}`);
  }
  const version = rule.ipVersion ?? implied;
  if (version === undefined) return;
  for (const side of ["source", "destination"] as const) {
    for (const key of ["nets", "notNets"] as const) {
      rule[side][key].forEach((net, i) => {
        if (net.includes(":") !== (version === 6)) fail(indexPath(keyPath(keyPath(path, side), key), i), `${net} is not an IPv${version} CIDR but the rule is IPv${version}-only`);
      });
    }
  }
}

function readRules(value: unknown, path: string): RuleSpec[] {
  return readList(value, path).map((r, i) => readRule(r, indexPath(path, i)));
}

const POLICY_KEYS = ["name", "namespace", "kind", "tier", "order", "selector", "namespaceSelector", "serviceAccountSelector", "types", "ingress", "egress"];

/** Reads a policy of any kind; the kind defaults from whether a namespace is given. */
export function readPolicy(value: unknown, path: string): PolicySpec {
  const obj = readObject(value, path, POLICY_KEYS);
  const name = readName(obj.name, keyPath(path, "name"));
  const namespace = obj.namespace === undefined ? undefined : readName(obj.namespace, keyPath(path, "namespace"));
  const kind = readPolicyKind(obj.kind, namespace, keyPath(path, "kind"));
  const ingress = readRules(obj.ingress, keyPath(path, "ingress"));
  const egress = readRules(obj.egress, keyPath(path, "egress"));
  const policy: PolicySpec = {
    name,
    kind,
    tier: obj.tier === undefined ? "default" : readName(obj.tier, keyPath(path, "tier")),
    // Omitted stays "": Felix rewrites an empty selector differently from an explicit all().
    selector: obj.selector === undefined ? "" : readSelector(obj.selector, keyPath(path, "selector")),
    types: readPolicyTypes(obj.types, keyPath(path, "types"), ingress, egress),
    ingress,
    egress,
  };
  if (namespace !== undefined) policy.namespace = namespace;
  if (obj.order !== undefined) policy.order = readNumber(obj.order, keyPath(path, "order"));
  if (obj.namespaceSelector !== undefined) {
    if (namespace !== undefined) fail(keyPath(path, "namespaceSelector"), "only global policies select by namespace");
    policy.namespaceSelector = readSelector(obj.namespaceSelector, keyPath(path, "namespaceSelector"));
  }
  if (obj.serviceAccountSelector !== undefined) {
    policy.serviceAccountSelector = readSelector(obj.serviceAccountSelector, keyPath(path, "serviceAccountSelector"));
  }
  return policy;
}

/** Reads `kind`, checking it agrees with whether the policy has a namespace. */
export function readPolicyKind(value: unknown, namespace: string | undefined, path: string): PolicyKind {
  if (value === undefined) return namespace === undefined ? "GlobalNetworkPolicy" : "NetworkPolicy";
  const kinds = namespace === undefined ? GLOBAL_POLICY_KINDS : NAMESPACED_POLICY_KINDS;
  const all = [...NAMESPACED_POLICY_KINDS, ...GLOBAL_POLICY_KINDS] as const;
  const kind = readEnum(value, path, all);
  if (!(kinds as readonly string[]).includes(kind)) {
    fail(path, namespace === undefined ? `${kind} needs a namespace` : `${kind} is cluster-wide and cannot have a namespace`);
  }
  return kind;
}

function readPolicyTypes(value: unknown, path: string, ingress: RuleSpec[], egress: RuleSpec[]): PolicyType[] {
  if (value === undefined) {
    // The Calico API server's defaulting: Egress alone when there are only egress rules,
    // both when there are both, otherwise Ingress.
    if (egress.length > 0) return ingress.length > 0 ? ["Ingress", "Egress"] : ["Egress"];
    return ["Ingress"];
  }
  const types = readList(value, path).map((t, i) => readEnum(t, indexPath(path, i), ["Ingress", "Egress"] as const));
  if (types.length === 0) fail(path, "a policy needs at least one type (Ingress, Egress)");
  if (new Set(types).size !== types.length) fail(path, "types are listed twice");
  return types;
}

/** Reads an explicit profile (rules plus labels its endpoints inherit). */
export function readProfile(value: unknown, path: string): ProfileSpec {
  const obj = readObject(value, path, ["name", "ingress", "egress", "labelsToApply"]);
  const name = readString(obj.name, keyPath(path, "name"), "a profile name");
  if (!/^[a-zA-Z0-9_.-]{1,253}$/.test(name)) fail(keyPath(path, "name"), `${describe(name)} is not a valid profile name`);
  return {
    name,
    ingress: readRules(obj.ingress, keyPath(path, "ingress")),
    egress: readRules(obj.egress, keyPath(path, "egress")),
    labelsToApply: readLabels(obj.labelsToApply, keyPath(path, "labelsToApply")),
  };
}

/** Reads a reference to an existing policy (for removePolicy). */
export function readPolicyRef(value: unknown, path: string): { name: string; namespace?: string; kind: PolicyKind } {
  const obj = readObject(value, path, ["name", "namespace", "kind"]);
  const name = readName(obj.name, keyPath(path, "name"));
  const namespace = readOptionalString(obj.namespace, keyPath(path, "namespace"));
  const kind = readPolicyKind(obj.kind, namespace, keyPath(path, "kind"));
  return namespace === undefined ? { name, kind } : { name, namespace, kind };
}
