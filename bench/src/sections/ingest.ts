/**
 * Point 1a: Felix ingest throughput. Frames are encoded up front and cut into 64 KiB chunks
 * (what a socket read returns); the timed loop is FrameReader.push -> decodeToDataplane ->
 * DesiredStateStore.apply, exactly the felix-proxy's per-frame work, over a store that already
 * holds the full point-2 state (so IP-set deltas land in 8,000-member sets, policy updates
 * re-resolve their endpoints, and so on). No privileges needed.
 */
import { DesiredStateStore, FrameReader, decodeToDataplane, encodeFrame } from "@ptables/felix";
import { felix } from "@ptables/proto";
import type { Report } from "../lib/report";
import { buildCluster, endpointChange, memberChange, policyChange, type Cluster, type Scale } from "../lib/scenario";
import { nowMs, round } from "../lib/stats";

const SECTION = "1. Felix ingest";
const CHUNK = 64 * 1024;

export interface IngestOptions {
  scale: Scale;
  quick: boolean;
}

function encodeStream(messages: readonly felix.ToDataplane[]): { chunks: Buffer[]; bytes: number } {
  const frames = messages.map((m) => encodeFrame(felix.ToDataplane.encode(m).finish()));
  const all = Buffer.concat(frames);
  const chunks: Buffer[] = [];
  for (let at = 0; at < all.length; at += CHUNK) chunks.push(all.subarray(at, Math.min(all.length, at + CHUNK)));
  return { chunks, bytes: all.length };
}

/** The timed loop; returns seconds and frames. */
function ingest(store: DesiredStateStore, chunks: readonly Buffer[]): { seconds: number; frames: number; changes: number; errors: number } {
  const reader = new FrameReader();
  let frames = 0;
  let changes = 0;
  let errors = 0;
  const t0 = nowMs();
  for (const chunk of chunks) {
    for (const frame of reader.push(chunk)) {
      const result = store.apply(decodeToDataplane(frame));
      frames++;
      changes += result.changes.length;
      errors += result.errors.length;
    }
  }
  reader.end();
  return { seconds: (nowMs() - t0) / 1000, frames, changes, errors };
}

function mixStream(cluster: Cluster, n: number, mix: { member: number; policy: number; endpoint: number }): felix.ToDataplane[] {
  const out: felix.ToDataplane[] = [];
  let m = 0;
  let p = 0;
  let e = 0;
  const total = mix.member + mix.policy + mix.endpoint;
  for (let i = 0; i < n; i++) {
    const r = (i * 7) % total; // deterministic interleave
    if (r < mix.member) out.push(memberChange(cluster, m++));
    else if (r < mix.member + mix.policy) out.push(policyChange(cluster, p++));
    else out.push(endpointChange(cluster, e++));
  }
  // An odd number of member changes would leave one churn member in a set: harmless.
  return out;
}

export async function runIngest(report: Report, opts: IngestOptions): Promise<void> {
  const cluster = buildCluster(opts.scale);
  const store = new DesiredStateStore();

  const sod = encodeStream(cluster.startOfDay);
  const first = ingest(store, sod.chunks);
  report.add(SECTION, "start of day: frames decoded + applied", first.frames, "frames", { note: `${round(sod.bytes / 1e6, 1)} MB, ${first.errors} errors` });
  report.add(SECTION, "start of day: ingest time", round(first.seconds * 1000, 0), "ms");

  const reps = opts.quick ? 2 : 3;
  const cases: Array<{ name: string; n: number; mix: { member: number; policy: number; endpoint: number }; target?: boolean }> = [
    { name: "IP-set deltas (1 member each)", n: opts.quick ? 100_000 : 300_000, mix: { member: 1, policy: 0, endpoint: 0 }, target: true },
    { name: "policy updates (10 rules each)", n: opts.quick ? 5_000 : 20_000, mix: { member: 0, policy: 1, endpoint: 0 } },
    { name: "endpoint updates (tiers change)", n: opts.quick ? 5_000 : 20_000, mix: { member: 0, policy: 0, endpoint: 1 } },
    { name: "mix 90% deltas / 5% policies / 5% endpoints", n: opts.quick ? 50_000 : 200_000, mix: { member: 18, policy: 1, endpoint: 1 } },
  ];
  for (const c of cases) {
    const messages = mixStream(cluster, c.n, c.mix);
    const { chunks, bytes } = encodeStream(messages);
    messages.length = 0;
    const rates: number[] = [];
    let errors = 0;
    for (let r = 0; r < reps; r++) {
      // Each repetition replays the same frames; deltas then toggle membership back and forth,
      // and policy/endpoint updates alternate between two contents, so every frame is a change.
      const res = ingest(store, chunks);
      rates.push(res.frames / res.seconds);
      errors += res.errors;
    }
    const best = Math.max(...rates);
    const median = [...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)]!;
    report.add(SECTION, `${c.name}: frames/s`, Math.round(median), "frames/s", {
      ...(c.target ? { target: { op: ">=", value: 200_000, text: ">= 200,000/s" } } : {}),
      note: `${c.n.toLocaleString("en-US")} frames of ${Math.round(bytes / c.n)} B avg; best of ${reps} ${Math.round(best).toLocaleString("en-US")}/s; ${round((bytes / 1e6) * (median / c.n), 1)} MB/s${errors ? `; ${errors} errors` : ""}`,
    });
  }
}
