/**
 * In-process CPU profiling for workers (BENCH_CPU_PROF=<dir>). `node --cpu-prof` cannot be used
 * in a process that loads BPF programs: its SIGPROF sampling interrupts the verifier, and
 * BPF_PROG_LOAD fails with EAGAIN. So profiles are taken with the inspector, started only
 * around the measured phases (never across EbpfBackend.open()).
 */
import { writeFileSync, mkdirSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";

let session: Session | undefined;
let label = "";

const post = (method: string, params?: object): Promise<any> =>
  new Promise((resolve, reject) => session!.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));

export async function startProfile(name: string): Promise<void> {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir || session) return;
  label = name;
  session = new Session();
  session.connect();
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: 500 });
  await post("Profiler.start");
}

export async function stopProfile(): Promise<string | undefined> {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir || !session) return undefined;
  const { profile } = await post("Profiler.stop");
  session.disconnect();
  session = undefined;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${label}-${process.pid}-${Date.now()}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  return file;
}
