/**
 * A private datapath for BPF_PROG_TEST_RUN tests and the bench: an owner EbpfBackend on a
 * unique bpf directory with small maps, endpoints written straight into pt_endpoints (by
 * ifindex, so no filter is attached anywhere), and helpers to run packets through either hook.
 */
import type { CompiledRule, Counter, DropReason, EndpointValue, PortSetKey, SetMemberKey } from "@ptables/api";
import { decodePerCpuCounter } from "../codec/counter-codec";
import { ENDPOINT } from "../codec/layouts";
import type { MapSizes } from "../datapath/names";
import { encodeEndpoint } from "../codec/endpoint-codec";
import { EbpfBackend } from "../ebpf-backend";
import { removeBpfDir } from "../native/bpffs";
import { progTestRun, type TestRunOptions, type TestRunResult } from "../native/prog-test-run";
import { ensureBpfObject } from "./bpf-object-build";
import { uniqueBpfDir } from "./test-bpf-dir";

export const TC_ACT_OK = 0;
export const TC_ACT_SHOT = 2;
export const TC_ACT_REDIRECT = 7;

/** Splits an inclusive port range into (port, prefixLen) prefixes, as the compiler does. */
export function portRangePrefixes(first: number, last: number): Array<{ port: number; prefixLen: number }> {
  const out: Array<{ port: number; prefixLen: number }> = [];
  let port = first;
  while (port <= last) {
    let size = 1;
    let prefixLen = 16;
    while (prefixLen > 0 && port % (size * 2) === 0 && port + size * 2 - 1 <= last) {
      size *= 2;
      prefixLen -= 1;
    }
    out.push({ port, prefixLen });
    port += size;
  }
  return out;
}

export class TestRunHarness {
  private constructor(
    readonly backend: EbpfBackend,
    readonly bpfDir: string,
  ) {}

  static async open(options: { mapSizes?: Partial<MapSizes>; maxRulesPerProgram?: number } = {}): Promise<TestRunHarness> {
    const objectPath = ensureBpfObject();
    const bpfDir = uniqueBpfDir();
    const backend = new EbpfBackend({
      bpfDir,
      objectPath,
      maxRulesPerProgram: options.maxRulesPerProgram,
      mapSizes: { members: 65536, portSets: 4096, rules: 65536, endpoints: 64, conntrack: 4096, counters: 65536, frags: 64, ...options.mapSizes },
    });
    try {
      await backend.open();
    } catch (err) {
      removeBpfDir(bpfDir);
      throw err;
    }
    return new TestRunHarness(backend, bpfDir);
  }

  /** Writes rules 0..n-1 of `programId`; throws on any entry error. */
  async program(programId: number, rules: CompiledRule[]): Promise<void> {
    const errors = await this.backend.tables.rules.applyBatch(
      rules.map((rule, index) => [{ programId, index }, rule]),
      [],
    );
    if (errors.length > 0) throw new Error(`program ${programId}: ${errors.map((e) => e.message).join("; ")}`);
  }

  /** Adds CIDR members ("10.0.0.0/8", "fd00::1/128") to a set; proto/port for IP_AND_PORT sets. */
  async members(setId: number, cidrs: string[], named?: { proto: number; port: number }): Promise<void> {
    const keys: SetMemberKey[] = cidrs.map((cidr) => {
      const [addr, len] = cidr.split("/");
      const family = addr!.includes(":") ? 6 : 4;
      return { setId, family, addr: addr!, prefixLen: Number(len ?? (family === 4 ? 32 : 128)), proto: named?.proto ?? 0, port: named?.port ?? 0 };
    });
    const errors = await this.backend.tables.setMembers.applyBatch(keys.map((k) => [k, true]), []);
    if (errors.length > 0) throw new Error(`set ${setId}: ${errors.map((e) => e.message).join("; ")}`);
  }

  /** Adds inclusive port ranges to a port set. */
  async portSet(setId: number, ranges: Array<[number, number]>): Promise<void> {
    const keys: PortSetKey[] = ranges.flatMap(([a, b]) => portRangePrefixes(a, b).map((p) => ({ setId, ...p })));
    const errors = await this.backend.tables.portSets.applyBatch(keys.map((k) => [k, true]), []);
    if (errors.length > 0) throw new Error(`port set ${setId}: ${errors.map((e) => e.message).join("; ")}`);
  }

  /** Writes pt_endpoints[ifindex] directly (no interface, no filter). */
  endpoint(ifindex: number, value: EndpointValue): void {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(ifindex);
    const buf = Buffer.alloc(ENDPOINT.size);
    encodeEndpoint(value, buf, 0, `endpoint ${ifindex}`, 1 << 20);
    this.backend.rawMap("endpoints").update(key, buf);
  }

  removeEndpoint(ifindex: number): void {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(ifindex);
    this.backend.rawMap("endpoints").delete(key);
  }

  /**
   * Runs `packet` through pt_prog_from_ep ("from": sent by the endpoint), pt_prog_to_ep ("to"),
   * or a host interface's pt_prog_from_host ("host-in": arriving on it) / pt_prog_to_host
   * ("host-out": leaving by it).
   */
  run(hook: "from" | "to" | "host-in" | "host-out", packet: Buffer, options: TestRunOptions = {}): TestRunResult {
    const fds = this.backend.programFds();
    const fd = { from: fds.fromEp, to: fds.toEp, "host-in": fds.fromHost, "host-out": fds.toHost }[hook];
    return progTestRun(fd, packet, options);
  }

  async dropPackets(reason: DropReason): Promise<bigint> {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(reason);
    return this.lookupCounter("drops", key)?.packets ?? 0n;
  }

  /** One rule counter (a direct lookup, not a read of the whole map). */
  async ruleCounter(counterId: bigint): Promise<Counter | undefined> {
    const key = Buffer.alloc(8);
    key.writeBigUInt64LE(counterId);
    return this.lookupCounter("counters", key);
  }

  private lookupCounter(role: "drops" | "counters", key: Buffer): Counter | undefined {
    const map = this.backend.rawMap(role);
    const value = Buffer.alloc(map.valueSize);
    return map.lookup(key, value) ? decodePerCpuCounter(value, map.cpuCount, map.slotSize) : undefined;
  }

  async close(): Promise<void> {
    await this.backend.close();
    removeBpfDir(this.bpfDir);
  }
}
