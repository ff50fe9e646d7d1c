/**
 * Worker (runs inside the node namespace): the in-process control plane at point-2 scale.
 * Felix frames -> FrameReader -> decode -> DesiredStateStore -> Programmer -> EbpfBackend, the
 * same calls felix-proxy and the policy programmer make, minus the gRPC hop and the proxy's
 * 5 ms coalescing (those are in the driver figures). Table writes are wrapped to time the
 * kernel part of each apply.
 */
import { DesiredStateStore, FrameReader, decodeToDataplane, encodeFrame } from "@ptables/felix";
import { EbpfBackend } from "@ptables/backend-ebpf";
import { Programmer } from "@ptables/policy-programmer";
import { felix, sync } from "@ptables/proto";
import type { Tables } from "@ptables/api";
import { buildCluster, endpointChange, memberChange, policyChange, type Cluster, type Scale } from "../lib/scenario";
import { distribution, nowMs, round } from "../lib/stats";
import { serveWorker, workerLog } from "../lib/worker";
import { startProfile, stopProfile } from "../lib/profiler";

interface TableTimes {
  writeMs: number;
  loadMs: number;
}

let cluster: Cluster;
let bpfDir: string;
let store: DesiredStateStore;
let reader: FrameReader;
let backend: EbpfBackend;
let programmer: Programmer;
let version = 0n;
const times: TableTimes = { writeMs: 0, loadMs: 0 };

function instrument(tables: Tables, into: TableTimes): void {
  for (const table of Object.values(tables) as Array<{ applyBatch: (...a: unknown[]) => Promise<unknown>; loadAll: () => Promise<unknown> }>) {
    const applyBatch = table.applyBatch.bind(table);
    const loadAll = table.loadAll.bind(table);
    table.applyBatch = async (...args: unknown[]) => {
      const t = nowMs();
      try {
        return await applyBatch(...args);
      } finally {
        into.writeMs += nowMs() - t;
      }
    };
    table.loadAll = async () => {
      const t = nowMs();
      try {
        return await loadAll();
      } finally {
        into.loadMs += nowMs() - t;
      }
    };
  }
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function encode(messages: readonly felix.ToDataplane[]): Buffer[] {
  return messages.map((m) => encodeFrame(felix.ToDataplane.encode(m).finish()));
}

function errorStatuses(res: sync.SyncResponse): string[] {
  return res.statuses.filter((s) => s.state === sync.ObjectState.OBJECT_STATE_ERROR).map((s) => `${sync.ObjectKind[s.kind]} ${s.id}: ${s.reason}`);
}

/** One frame through the whole pipeline; resolves when the programmer has applied it. */
async function oneFrame(bytes: Buffer): Promise<{ ms: number; writes: number; errors: string[] }> {
  const t0 = nowMs();
  for (const frame of reader.push(bytes)) {
    const res = store.apply(decodeToDataplane(frame));
    if (res.changes.length > 0) programmer.applyDelta({ version: ++version, changes: res.changes, inSync: res.inSync });
  }
  const response = await programmer.apply();
  const ms = nowMs() - t0;
  return { ms, writes: programmer.lastApply?.writes ?? 0, errors: errorStatuses(response) };
}

/** Starts a profile named `name` (BENCH_CPU_PROF), ending the previous one; "" just ends it. */
async function profiled(name: string): Promise<void> {
  const file = await stopProfile();
  if (file) workerLog(`cpu profile: ${file}`);
  if (name) await startProfile(name);
}

async function latencies(name: string, frames: Buffer[]): Promise<Record<string, unknown>> {
  gc();
  await profiled(name);
  const samples: number[] = [];
  const writes: number[] = [];
  const kernel: number[] = [];
  const errors = new Set<string>();
  for (const bytes of frames) {
    const before = times.writeMs;
    const r = await oneFrame(bytes);
    samples.push(r.ms);
    writes.push(r.writes);
    kernel.push(times.writeMs - before);
    r.errors.forEach((e) => errors.add(e));
  }
  await profiled("");
  return {
    ms: distribution(samples),
    kernelMs: distribution(kernel),
    writes: distribution(writes),
    totalWrites: writes.reduce((a, b) => a + b, 0),
    errors: [...errors].slice(0, 5),
  };
}

async function countEntries(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const role of ["members", "ports", "rules", "endpoints"] as const) out[role] = backend.rawMap(role).keys().length;
  return out;
}

serveWorker({
  async setup(params: { scale: Scale; bpfDir: string }) {
    bpfDir = params.bpfDir;
    cluster = buildCluster(params.scale);
    store = new DesiredStateStore();
    reader = new FrameReader();
    backend = new EbpfBackend({ bpfDir });
    const t = nowMs();
    await backend.open();
    const openMs = nowMs() - t;
    instrument(backend.tables, times);
    programmer = new Programmer(backend);
    return { openMs, notes: backend.openNotes() };
  },

  /** The whole start of day: frames -> store, then one snapshot -> apply. */
  async snapshot() {
    const frames = encode(cluster.startOfDay);
    const bytes = frames.reduce((a, f) => a + f.length, 0);
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    await profiled("snapshot");
    const t0 = nowMs();
    let frameCount = 0;
    for (const f of frames) {
      for (const frame of reader.push(f)) {
        store.apply(decodeToDataplane(frame));
        frameCount++;
      }
    }
    const t1 = nowMs();
    gc();
    const heap1 = process.memoryUsage().heapUsed;
    const t1b = nowMs();
    programmer.applySnapshot({ version: ++version, state: store.snapshot(), inSync: store.inSync });
    const response = await programmer.apply();
    const t2 = nowMs();
    await profiled("");
    gc();
    const heap2 = process.memoryUsage().heapUsed;
    const stats = programmer.lastApply!;
    const errors = errorStatuses(response);
    const endpointStates: Record<string, number> = {};
    for (const s of response.statuses) {
      if (s.kind !== sync.ObjectKind.OBJECT_KIND_WORKLOAD_ENDPOINT) continue;
      const name = (sync.ObjectState[s.state] ?? String(s.state)).replace("OBJECT_STATE_", "").toLowerCase();
      endpointStates[name] = (endpointStates[name] ?? 0) + 1;
    }
    const upEndpoints = endpointStates.programmed ?? 0;
    const kernel = await countEntries();
    workerLog(`snapshot: ingest ${round(t1 - t0)} ms, apply ${round(t2 - t1b)} ms (kernel writes ${round(times.writeMs)} ms, readback ${round(times.loadMs)} ms), writes ${stats.writes}`);
    return {
      frames: frameCount,
      bytes,
      ingestMs: t1 - t0,
      applyMs: t2 - t1b,
      totalMs: t1 - t0 + (t2 - t1b),
      heapStoreMiB: (heap1 - heap0) / 2 ** 20,
      heapProgrammerMiB: (heap2 - heap1) / 2 ** 20,
      rssMiB: process.memoryUsage().rss / 2 ** 20,
      kernelWriteMs: times.writeMs,
      readbackMs: times.loadMs,
      writes: stats.writes,
      writesByTable: stats.writesByTable,
      endpointsOk: upEndpoints,
      endpointStates,
      errors: errors.slice(0, 5),
      errorCount: errors.length,
      kernel,
    };
  },

  async memberChanges(params: { n: number }) {
    const n = params.n + (params.n % 2); // adds and removes pair up
    return latencies("member-changes", encode(Array.from({ length: n }, (_, i) => memberChange(cluster, i))));
  },

  async policyChanges(params: { n: number }) {
    return latencies("policy-changes", encode(Array.from({ length: params.n }, (_, i) => policyChange(cluster, i))));
  },

  async endpointChanges(params: { n: number }) {
    return latencies("endpoint-changes", encode(Array.from({ length: params.n }, (_, i) => endpointChange(cluster, i))));
  },

  /** A restarted programmer: a fresh backend (object load, pins reused) and a fresh Programmer over the same state. */
  async resync() {
    await backend.close();
    const before = { ...times };
    const t0 = nowMs();
    backend = new EbpfBackend({ bpfDir });
    await backend.open();
    const t1 = nowMs();
    instrument(backend.tables, times);
    await profiled("resync");
    programmer = new Programmer(backend);
    programmer.applySnapshot({ version: ++version, state: store.snapshot(), inSync: true });
    const response = await programmer.apply();
    const t2 = nowMs();
    await profiled("");
    const stats = programmer.lastApply!;
    return {
      openMs: t1 - t0,
      applyMs: t2 - t1,
      readbackMs: times.loadMs - before.loadMs,
      kernelWriteMs: times.writeMs - before.writeMs,
      writes: stats.writes,
      writesByTable: stats.writesByTable,
      errorCount: errorStatuses(response).length,
    };
  },

  /** Detaches everything and removes the pins (the namespace goes afterwards). */
  async cleanup() {
    await backend.cleanup();
    return {};
  },
});
