/** Reading the cluster's objects: nodes, namespaces, service accounts, pods, tiers, network sets. */
import { createHash } from "node:crypto";
import { formatCidr, formatIp, parseCidr, parseIp } from "./ip";
import { NODE_NETWORK_KEYS, readNodeNetwork } from "./scenario-network";
import { readName, readPortName } from "./scenario-rules";
import type { NamedPortSpec, NamespaceSpec, NetworkSetSpec, NodeSpec, PodSpec, ServiceAccountSpec, TierSpec } from "./scenario-types";
import { describe, fail, indexPath, keyPath, readEnum, readInteger, readLabels, readList, readNumber, readObject, readString } from "./validate";

/** Reads a node: name plus optional addresses ("10.0.0.5" or "10.0.0.5/24"). */
export function readNode(value: unknown, path: string): NodeSpec {
  const obj = readObject(value, path, ["name", "ip", "ipv6", "labels", ...NODE_NETWORK_KEYS]);
  const node: NodeSpec = { name: readName(obj.name, keyPath(path, "name")), labels: readLabels(obj.labels, keyPath(path, "labels")) };
  if (obj.ip !== undefined) node.ipv4 = readHostAddress(obj.ip, keyPath(path, "ip"), 4);
  if (obj.ipv6 !== undefined) node.ipv6 = readHostAddress(obj.ipv6, keyPath(path, "ipv6"), 6);
  readNodeNetwork(obj, path, node);
  return node;
}

/** A host address keeps its host bits ("10.0.0.5/24"); a bare one gets a full-length prefix. */
function readHostAddress(value: unknown, path: string, family: 4 | 6): string {
  const text = readString(value, path, `an IPv${family} address`);
  const [addressText, prefix] = text.split("/", 2);
  const ip = parseIp(addressText);
  const net = parseCidr(text);
  if (!ip || !net || ip.family !== family) fail(path, `${describe(text)} is not an IPv${family} address`);
  return `${formatIp(ip)}/${prefix === undefined ? (family === 4 ? 32 : 128) : net.prefixLength}`;
}

/** Namespace names are DNS labels: no dots (profile names like ksa.<ns>.<sa> rely on it). */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function readNamespace(value: unknown, path: string): NamespaceSpec {
  const obj = readObject(value, path, ["name", "labels"]);
  const name = readName(obj.name, keyPath(path, "name"));
  if (!NAMESPACE_NAME.test(name)) fail(keyPath(path, "name"), `${describe(name)} is not a valid namespace name (a DNS label: letters, digits and '-')`);
  return { name, labels: readLabels(obj.labels, keyPath(path, "labels")) };
}

export function readServiceAccount(value: unknown, path: string): ServiceAccountSpec {
  const obj = readObject(value, path, ["name", "namespace", "labels"]);
  return {
    name: readName(obj.name, keyPath(path, "name")),
    namespace: readName(obj.namespace, keyPath(path, "namespace")),
    labels: readLabels(obj.labels, keyPath(path, "labels")),
  };
}

/**
 * The interface name Calico's CNI plugin gives a pod: "cali" + the first 11 hex digits of
 * SHA-1("<namespace>.<pod>") (libcalico-go names.VethNameForWorkload).
 */
export function defaultInterfaceName(namespace: string, pod: string): string {
  return `cali${createHash("sha1").update(`${namespace}.${pod}`).digest("hex").slice(0, 11)}`;
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const POD_KEYS = ["name", "namespace", "node", "ifname", "ips", "mac", "labels", "serviceAccount", "ports", "state", "profiles"];

/** Reads a pod; `defaultNode` is used when the pod does not name one. */
export function readPod(value: unknown, path: string, defaultNode: string): PodSpec {
  const obj = readObject(value, path, POD_KEYS);
  const name = readName(obj.name, keyPath(path, "name"));
  const namespace = readName(obj.namespace, keyPath(path, "namespace"));
  const pod: PodSpec = {
    name,
    namespace,
    node: obj.node === undefined ? defaultNode : readName(obj.node, keyPath(path, "node")),
    ifname: defaultInterfaceName(namespace, name),
    ipv4: [],
    ipv6: [],
    mac: "",
    labels: readLabels(obj.labels, keyPath(path, "labels")),
    serviceAccount: obj.serviceAccount === undefined ? "default" : readName(obj.serviceAccount, keyPath(path, "serviceAccount")),
    ports: readList(obj.ports, keyPath(path, "ports")).map((p, i) => readNamedPort(p, indexPath(keyPath(path, "ports"), i))),
    state: obj.state === undefined ? "active" : readEnum(obj.state, keyPath(path, "state"), ["active", "down"] as const),
    profiles: readList(obj.profiles, keyPath(path, "profiles")).map((p, i) => readString(p, indexPath(keyPath(path, "profiles"), i), "a profile name")),
  };
  if (obj.ifname !== undefined) {
    const ifname = readString(obj.ifname, keyPath(path, "ifname"), "an interface name");
    if (!IFNAME.test(ifname)) fail(keyPath(path, "ifname"), `${describe(ifname)} is not a valid interface name (1-15 of letters, digits, _ . -)`);
    pod.ifname = ifname;
  }
  if (obj.mac !== undefined) {
    const mac = readString(obj.mac, keyPath(path, "mac"), "a MAC address");
    if (!MAC.test(mac)) fail(keyPath(path, "mac"), `${describe(mac)} is not a MAC address (six hex octets separated by ':')`);
    pod.mac = mac.toLowerCase();
  }
  readList(obj.ips, keyPath(path, "ips")).forEach((item, i) => {
    const itemPath = indexPath(keyPath(path, "ips"), i);
    const text = readString(item, itemPath, "an IP address");
    const ip = parseIp(text);
    if (!ip) fail(itemPath, `${describe(text)} is not an IP address`);
    (ip.family === 4 ? pod.ipv4 : pod.ipv6).push(formatIp(ip));
  });
  const portNames = new Set<string>();
  pod.ports.forEach((port, i) => {
    const key = `${port.name}/${port.protocol}`;
    if (portNames.has(key)) fail(indexPath(keyPath(path, "ports"), i), `port ${port.name} (${port.protocol}) is listed twice`);
    portNames.add(key);
  });
  return pod;
}

function readNamedPort(value: unknown, path: string): NamedPortSpec {
  const obj = readObject(value, path, ["name", "protocol", "port"]);
  return {
    name: readPortName(obj.name, keyPath(path, "name")),
    protocol: obj.protocol === undefined ? "TCP" : readEnum(obj.protocol, keyPath(path, "protocol"), ["TCP", "UDP", "SCTP"] as const),
    port: readInteger(obj.port, keyPath(path, "port"), 1, 65535),
  };
}

export function readTier(value: unknown, path: string): TierSpec {
  const obj = readObject(value, path, ["name", "order", "defaultAction"]);
  const tier: TierSpec = {
    name: readName(obj.name, keyPath(path, "name")),
    defaultAction: obj.defaultAction === undefined ? "Deny" : readEnum(obj.defaultAction, keyPath(path, "defaultAction"), ["Deny", "Pass"] as const),
  };
  if (obj.order !== undefined) tier.order = readNumber(obj.order, keyPath(path, "order"));
  return tier;
}

export function readNetworkSet(value: unknown, path: string): NetworkSetSpec {
  const obj = readObject(value, path, ["name", "namespace", "labels", "nets"]);
  const set: NetworkSetSpec = {
    name: readName(obj.name, keyPath(path, "name")),
    labels: readLabels(obj.labels, keyPath(path, "labels")),
    nets: readList(obj.nets, keyPath(path, "nets")).map((item, i) => {
      const text = readString(item, indexPath(keyPath(path, "nets"), i), "a CIDR");
      const net = parseCidr(text);
      if (!net) fail(indexPath(keyPath(path, "nets"), i), `${describe(text)} is not an IP address or CIDR`);
      return formatCidr(net);
    }),
  };
  if (obj.namespace !== undefined) set.namespace = readName(obj.namespace, keyPath(path, "namespace"));
  return set;
}
