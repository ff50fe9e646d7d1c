/**
 * A network-namespace emulation of Calico nodes and pods. Each node is a namespace that routes
 * like a Calico host; each pod is a namespace wired to its node by a veth pair exactly as
 * Calico's CNI plugin does it: host side `cali…` with MAC ee:ee:ee:ee:ee:ee and no address, pod
 * side `eth0` with /32 and /128 addresses and default routes to 169.254.1.1 (v4) and the host
 * veth's link-local (v6). Everything lives in namespaces this topology creates, so nothing on the
 * machine itself is touched, and `destroy()` removes it all.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { isIPv4, isIPv6 } from "node:net";
import { addNamespace, deleteNamespace, listNamespaces } from "./namespaces";
import { topologyBaseName, validateIfname, validateMemberName, validatePrefix } from "./names";
import { runCommand, type CommandOutput } from "./run-command";

/** The MAC Calico gives every host-side workload veth. */
export const CALICO_HOST_VETH_MAC = "ee:ee:ee:ee:ee:ee";
/** The IPv4 gateway every Calico pod routes to; nothing owns it, the host answers ARP for it. */
export const CALICO_GATEWAY_V4 = "169.254.1.1";
/** The host veth's EUI-64 link-local address, derived from CALICO_HOST_VETH_MAC. */
export const CALICO_GATEWAY_V6 = "fe80::ecee:eeff:feee:eeee";
/** The pod-side interface name. */
export const POD_IFNAME = "eth0";
/** The node's interface on the fabric bridge. */
export const NODE_FABRIC_IFNAME = "eth0";
/** The bridge joining nodes, inside the fabric namespace. */
export const FABRIC_BRIDGE = "fabric";

/** How long a tracked child gets to exit after SIGTERM before it is SIGKILLed. */
const KILL_GRACE_MS = 2_000;

let topologyCounter = 0;

export interface TopologyOptions {
  /** Short lowercase tag for this suite (e.g. "selftest"); pid and a counter are appended. */
  prefix: string;
}

/** One emulated Calico node (a namespace that forwards). */
export interface NodeNs {
  readonly topology: Topology;
  readonly name: string;
  /** The namespace name, for `ip -n` and `ip netns exec`. */
  readonly ns: string;
  /** The node's fabric address, once `addFabric` has joined it. */
  ipv4?: string;
  ipv6?: string;
}

export interface PodOptions {
  name: string;
  /** Host-side veth name in the node namespace, e.g. "cali" + a short id (at most 15 chars). */
  ifname: string;
  /** Bare address, e.g. "10.65.0.2"; becomes the pod's /32. */
  ipv4?: string;
  /** Bare address, e.g. "fd00:65::2"; becomes the pod's /128. */
  ipv6?: string;
  /** MAC of the pod's eth0; the kernel picks one if omitted. */
  mac?: string;
  /** Program the node's routes to the pod via the host veth, as Calico would (default true). */
  withHostRoutes?: boolean;
  /**
   * Add a permanent neighbour 169.254.1.1 -> ee:ee:ee:ee:ee:ee in the pod so IPv4 works without
   * an ARP responder (default false; ptables answers ARP itself in the e2e suites).
   */
  staticGatewayNeigh?: boolean;
}

/** One emulated pod (a namespace with eth0 wired to its node). */
export interface PodNs {
  readonly topology: Topology;
  readonly name: string;
  readonly ns: string;
  readonly node: NodeNs;
  /** Host-side veth name, in the node namespace. */
  readonly ifname: string;
  readonly ipv4?: string;
  readonly ipv6?: string;
  /** MAC of the pod's eth0. */
  readonly mac: string;
}

/** The bridge namespace joining nodes, with the addresses it handed out. */
export interface Fabric {
  readonly ns: string;
  readonly bridge: string;
  readonly nodes: ReadonlyArray<{ node: NodeNs; ipv4: string; ipv6: string }>;
}

/** Anything that lives in one of the topology's namespaces. */
export interface InNamespace {
  readonly topology: Topology;
  readonly ns: string;
}

/** Creates an empty topology; add nodes, pods and a fabric, then `destroy()` in afterAll. */
export function createTopology(options: TopologyOptions): Topology {
  validatePrefix(options.prefix);
  topologyCounter += 1;
  return new Topology(options.prefix, topologyBaseName(options.prefix, process.pid, topologyCounter));
}

export class Topology {
  /** Every namespace this topology has started to create, in creation order. */
  private readonly namespaces: string[] = [];
  private readonly memberNames = new Set<string>();
  private readonly nodes = new Map<string, NodeNs>();
  private readonly pods = new Map<string, PodNs>();
  /** Host-side interface names per node namespace, to reject duplicates with a clear message. */
  private readonly hostIfnames = new Map<string, Set<string>>();
  private readonly children = new Set<ChildProcess>();
  private fabric: Fabric | undefined;
  private destroying: Promise<void> | undefined;

  /** @internal use createTopology */
  constructor(
    readonly prefix: string,
    /** Start of every namespace name this topology creates: `<prefix>-<pid>-<counter>`. */
    readonly baseName: string,
  ) {}

  /** Creates a node namespace that forwards IPv4 and IPv6, with rp_filter and IPv6 DAD off. */
  async addNode(name: string): Promise<NodeNs> {
    const ns = this.claimNamespace("node", name);
    await addNamespace(ns);
    await this.ip(ns, ["link", "set", "lo", "up"]);
    await this.exec(ns, [
      "sysctl",
      "-q",
      "-w",
      "net.ipv4.ip_forward=1",
      "net.ipv6.conf.all.forwarding=1",
      "net.ipv4.conf.all.rp_filter=0",
      "net.ipv4.conf.default.rp_filter=0",
      // Addresses and link-locals must be usable at once, not after a second of DAD.
      "net.ipv6.conf.all.accept_dad=0",
      "net.ipv6.conf.default.accept_dad=0",
    ]);
    const node: NodeNs = { topology: this, name, ns };
    this.nodes.set(name, node);
    this.hostIfnames.set(ns, new Set());
    return node;
  }

  /** Creates a pod namespace and wires it to `node` the way Calico's CNI plugin does. */
  async addPod(node: NodeNs, options: PodOptions): Promise<PodNs> {
    if (node.topology !== this || !this.nodes.has(node.name)) {
      throw new Error(`pod ${options.name}: node ${node.name} is not part of topology ${this.baseName}`);
    }
    validateIfname(options.ifname);
    const nodeIfnames = this.hostIfnames.get(node.ns) ?? new Set<string>();
    if (nodeIfnames.has(options.ifname)) {
      throw new Error(`pod ${options.name}: interface ${options.ifname} already exists on node ${node.name}`);
    }
    if (options.ipv4 !== undefined && !isIPv4(options.ipv4)) {
      throw new Error(`pod ${options.name}: ipv4 "${options.ipv4}" is not a bare IPv4 address`);
    }
    if (options.ipv6 !== undefined && !isIPv6(options.ipv6)) {
      throw new Error(`pod ${options.name}: ipv6 "${options.ipv6}" is not a bare IPv6 address`);
    }
    const ns = this.claimNamespace("pod", options.name);
    nodeIfnames.add(options.ifname);
    await addNamespace(ns);
    await this.ip(ns, ["link", "set", "lo", "up"]);
    // Before the veth exists, so eth0 inherits "no DAD" and its link-local is usable at once.
    await this.exec(ns, ["sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]);

    // Created inside the node namespace with the peer placed straight into the pod's, so the
    // machine's own namespace never sees either end.
    const peerAddress = options.mac === undefined ? [] : ["address", options.mac];
    await this.ip(node.ns, [
      "link", "add", options.ifname, "address", CALICO_HOST_VETH_MAC, "type", "veth",
      "peer", "name", POD_IFNAME, ...peerAddress, "netns", ns,
    ]);
    await this.ip(node.ns, ["link", "set", options.ifname, "up"]);
    await this.ip(ns, ["link", "set", POD_IFNAME, "up"]);

    if (options.ipv4 !== undefined) {
      await this.ip(ns, ["-4", "addr", "add", `${options.ipv4}/32`, "dev", POD_IFNAME]);
      await this.ip(ns, ["-4", "route", "add", "default", "via", CALICO_GATEWAY_V4, "dev", POD_IFNAME, "onlink"]);
      if (options.staticGatewayNeigh) {
        await this.ip(ns, [
          "-4", "neigh", "replace", CALICO_GATEWAY_V4, "lladdr", CALICO_HOST_VETH_MAC, "dev", POD_IFNAME, "nud", "permanent",
        ]);
      }
    }
    if (options.ipv6 !== undefined) {
      await this.ip(ns, ["-6", "addr", "add", `${options.ipv6}/128`, "dev", POD_IFNAME, "nodad"]);
      await this.ip(ns, ["-6", "route", "add", "default", "via", CALICO_GATEWAY_V6, "dev", POD_IFNAME]);
    }
    if (options.withHostRoutes ?? true) {
      if (options.ipv4 !== undefined) {
        await this.ip(node.ns, ["-4", "route", "add", `${options.ipv4}/32`, "dev", options.ifname, "scope", "link"]);
      }
      if (options.ipv6 !== undefined) {
        await this.ip(node.ns, ["-6", "route", "add", `${options.ipv6}/128`, "dev", options.ifname]);
      }
    }

    const pod: PodNs = {
      topology: this,
      name: options.name,
      ns,
      node,
      ifname: options.ifname,
      ipv4: options.ipv4,
      ipv6: options.ipv6,
      mac: await this.linkMac(ns, POD_IFNAME),
    };
    this.pods.set(options.name, pod);
    return pod;
  }

  /**
   * Joins `nodes` with a bridge in its own namespace. Node i (in the order given) gets
   * 10.254.0.<i+1>/24 and fd00:fe::<i+1>/64 on its eth0; the addresses are also set on the nodes.
   */
  async addFabric(nodes: readonly NodeNs[], name = "fabric"): Promise<Fabric> {
    if (this.fabric !== undefined) throw new Error(`topology ${this.baseName} already has a fabric`);
    if (nodes.length > 250) throw new Error(`fabric: at most 250 nodes (got ${nodes.length})`);
    for (const node of nodes) {
      if (node.topology !== this || !this.nodes.has(node.name)) {
        throw new Error(`fabric: node ${node.name} is not part of topology ${this.baseName}`);
      }
    }
    const ns = this.claimNamespace("fabric", name);
    await addNamespace(ns);
    await this.ip(ns, ["link", "set", "lo", "up"]);
    await this.ip(ns, ["link", "add", FABRIC_BRIDGE, "type", "bridge"]);
    await this.ip(ns, ["link", "set", FABRIC_BRIDGE, "up"]);
    const members: Array<{ node: NodeNs; ipv4: string; ipv6: string }> = [];
    for (const [index, node] of nodes.entries()) {
      const port = `f${index}`;
      const ipv4 = `10.254.0.${index + 1}`;
      const ipv6 = `fd00:fe::${(index + 1).toString(16)}`;
      await this.ip(ns, ["link", "add", port, "type", "veth", "peer", "name", NODE_FABRIC_IFNAME, "netns", node.ns]);
      await this.ip(ns, ["link", "set", port, "master", FABRIC_BRIDGE, "up"]);
      await this.ip(node.ns, ["link", "set", NODE_FABRIC_IFNAME, "up"]);
      await this.ip(node.ns, ["-4", "addr", "add", `${ipv4}/24`, "dev", NODE_FABRIC_IFNAME]);
      await this.ip(node.ns, ["-6", "addr", "add", `${ipv6}/64`, "dev", NODE_FABRIC_IFNAME, "nodad"]);
      node.ipv4 = ipv4;
      node.ipv6 = ipv6;
      members.push({ node, ipv4, ipv6 });
    }
    this.fabric = { ns, bridge: FABRIC_BRIDGE, nodes: members };
    return this.fabric;
  }

  /** Runs `argv` inside namespace `ns` (`ip netns exec`); rejects with its stderr on failure. */
  exec(ns: string, argv: readonly string[], options: { timeoutMs?: number } = {}): Promise<CommandOutput> {
    return runCommand(["ip", "netns", "exec", ns, ...argv], options);
  }

  /** Runs `ip -n <ns> <args…>`. */
  ip(ns: string, args: readonly string[]): Promise<CommandOutput> {
    return runCommand(["ip", "-n", ns, ...args]);
  }

  /**
   * Starts `argv` inside namespace `ns` and tracks it: `destroy()` kills it if it is still
   * running. Stdio defaults to pipes.
   */
  spawnIn(ns: string, argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
    if (this.destroying !== undefined) throw new Error(`topology ${this.baseName} is destroyed`);
    const [file, ...args] = argv;
    if (file === undefined) throw new Error("spawnIn: empty argv");
    const child = spawn("ip", ["netns", "exec", ns, file, ...args], { stdio: "pipe", ...options });
    this.children.add(child);
    child.once("exit", () => this.children.delete(child));
    // A spawn failure is reported on the child by whoever uses it; tracking must not crash.
    child.once("error", () => this.children.delete(child));
    return child;
  }

  /** Kills every tracked child and deletes every namespace; idempotent. */
  destroy(): Promise<void> {
    this.destroying ??= this.destroyOnce();
    return this.destroying;
  }

  /** Namespace names this topology created (or began to create), for checks and debugging. */
  get namespaceNames(): readonly string[] {
    return [...this.namespaces];
  }

  private async destroyOnce(): Promise<void> {
    await Promise.all([...this.children].map((child) => killChild(child)));
    // Pods first: deleting a pod namespace takes its veth pair out of the node namespace too.
    const order = [...this.namespaces].reverse();
    const failures: string[] = [];
    for (const ns of order) {
      try {
        await deleteNamespace(ns);
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
      }
    }
    const remaining = (await listNamespaces()).filter((ns) => this.namespaces.includes(ns));
    if (remaining.length > 0 || failures.length > 0) {
      throw new Error(`destroy ${this.baseName}: left ${remaining.join(", ") || "nothing"}; ${failures.join("; ")}`);
    }
  }

  /** Reserves a namespace name before creating it, so a failure half-way is still cleaned up. */
  private claimNamespace(kind: string, name: string): string {
    if (this.destroying !== undefined) throw new Error(`topology ${this.baseName} is destroyed`);
    validateMemberName(kind, name);
    if (this.memberNames.has(name)) throw new Error(`${kind} ${name}: name already used in topology ${this.baseName}`);
    this.memberNames.add(name);
    const ns = `${this.baseName}-${name}`;
    this.namespaces.push(ns);
    return ns;
  }

  private async linkMac(ns: string, ifname: string): Promise<string> {
    const { stdout } = await this.ip(ns, ["-j", "link", "show", "dev", ifname]);
    const [link] = JSON.parse(stdout) as Array<{ address?: string }>;
    if (link?.address === undefined) throw new Error(`${ns}: no MAC on ${ifname}`);
    return link.address;
  }
}

/** SIGTERM, then SIGKILL if the child has not exited within the grace period. */
function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const escalate = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
    child.once("exit", () => {
      clearTimeout(escalate);
      resolve();
    });
    // A child that never started emits "error" and no "exit"; it holds nothing to clean up.
    child.once("error", () => {
      clearTimeout(escalate);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
