/** Small builders shared by the programmer's tests. */
import { sync } from "@ptables/proto";
import { emptyDesiredState, type DesiredState } from "@ptables/api";
import { policyCoreCompiler, type PolicyCompiler } from "../compiler";
import { Programmer, type ProgrammerOptions } from "../programmer";
import type { RecordingBackend } from "./recording-backend";

export function snapshotOf(state: Partial<DesiredState>, version: bigint, inSync = true): sync.Snapshot {
  return { version, state: { ...emptyDesiredState(), ...state }, inSync };
}

export function deltaOf(version: bigint, changes: NonNullable<sync.Change["change"]>[], inSync = true): sync.Delta {
  return { version, changes: changes.map((change) => ({ change })), inSync };
}

/** A compiler whose id functions can be overridden to force hash collisions. */
export function compilerWith(overrides: Partial<PolicyCompiler>): PolicyCompiler {
  return { ...policyCoreCompiler, ...overrides };
}

/** A manual clock for backoff tests. */
export class TestClock {
  t = 1_000_000;
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export async function programmed(backend: RecordingBackend, state: Partial<DesiredState>, opts: ProgrammerOptions = {}): Promise<Programmer> {
  const p = new Programmer(backend, opts);
  p.applySnapshot(snapshotOf(state, 1n));
  await p.apply();
  return p;
}

export function statusOf(p: Programmer, kind: sync.ObjectKind, id: string): { state: string; reason: string } | undefined {
  const s = p.status.get(kind, id);
  return s && { state: sync.ObjectState[s.state]!.replace("OBJECT_STATE_", ""), reason: s.reason };
}

export const WEP = sync.ObjectKind.OBJECT_KIND_WORKLOAD_ENDPOINT;
export const HEP = sync.ObjectKind.OBJECT_KIND_HOST_ENDPOINT;
export const IPSET = sync.ObjectKind.OBJECT_KIND_IP_SET;
export const POLICY = sync.ObjectKind.OBJECT_KIND_POLICY;
