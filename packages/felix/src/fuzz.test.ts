/**
 * Fuzz: random, structurally random and mutated frames through FrameReader, decodeToDataplane
 * and the store. The only thing allowed to throw is a FrameError (a bad frame ends the
 * connection: the store is reset, as the proxy does). Along the way the change stream is
 * replayed into a replica, which must always equal the store's snapshot, and the snapshot must
 * never hold a dangling reference or a non-canonical value.
 *
 * PTABLES_FUZZ_SEED=<n> replays a run; PTABLES_FUZZ_FRAMES=<n> changes its length.
 */
import { IpSetType, policyKey } from "@ptables/api";
import type { DesiredState } from "@ptables/api";
import type { sync } from "@ptables/proto";
import { encodeFelixFrame, randomToDataplane, seededRandom } from "@ptables/testkit";
import { decodeToDataplane } from "./decode";
import { FrameError, FrameReader } from "./framing";
import { DesiredStateStore } from "./store";
import { canonicalIpSetMember, canonicalNet } from "./validate";

const SEED = Number(process.env.PTABLES_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
const FRAMES = Number(process.env.PTABLES_FUZZ_FRAMES ?? 100_000);

/** The desired state rebuilt from nothing but the change stream, checked as it goes. */
class ChangeReplica {
  private readonly objects = new Map<string, Map<string, unknown>>();
  private config: unknown;
  private encapsulation: unknown;

  constructor(start: DesiredState) {
    this.config = start.config;
    this.encapsulation = start.encapsulation;
    for (const [kind, list] of Object.entries(keyedLists(start))) this.objects.set(kind, new Map(list));
  }

  /** Applies changes; returns a description of the first one that makes no sense. */
  apply(changes: readonly sync.Change[]): string | undefined {
    for (const { change } of changes) {
      if (!change) return "empty change";
      if (change.$case === "config") this.config = change.value;
      else if (change.$case === "encapsulation") this.encapsulation = change.value;
      else if (change.$case === "ipSetDelta") {
        const set = this.objects.get("ipSets")!.get(change.value.id) as { members: string[] } | undefined;
        if (!set) return `delta for absent IP set ${change.value.id}`;
        for (const m of change.value.removed) {
          if (!set.members.includes(m)) return `delta removes absent member ${m} of ${change.value.id}`;
          set.members = set.members.filter((x) => x !== m);
        }
        for (const m of change.value.added) {
          if (set.members.includes(m)) return `delta adds present member ${m} of ${change.value.id}`;
          set.members.push(m);
        }
      } else if (change.$case.startsWith("remove")) {
        const kind = REMOVE_KINDS[change.$case];
        if (!this.objects.get(kind)!.delete(change.value as string)) return `${change.$case} of absent ${String(change.value)}`;
      } else {
        const [kind, key] = UPSERT_KEYS[change.$case](change.value as never);
        const value = kind === "ipSets" ? { ...(change.value as object), members: [...(change.value as { members: string[] }).members] } : change.value;
        this.objects.get(kind)!.set(key, value);
      }
    }
    return undefined;
  }

  differences(snapshot: DesiredState): string[] {
    const out: string[] = [];
    if (JSON.stringify(this.config) !== JSON.stringify(snapshot.config)) out.push("config differs");
    if (JSON.stringify(this.encapsulation) !== JSON.stringify(snapshot.encapsulation)) out.push("encapsulation differs");
    for (const [kind, list] of Object.entries(keyedLists(snapshot))) {
      const mine = this.objects.get(kind)!;
      const theirs = new Map(list);
      for (const key of new Set([...mine.keys(), ...theirs.keys()])) {
        if (normalised(mine.get(key)) !== normalised(theirs.get(key))) out.push(`${kind} ${key}: replica ${normalised(mine.get(key))} vs snapshot ${normalised(theirs.get(key))}`);
      }
    }
    return out;
  }
}

const REMOVE_KINDS: Record<string, string> = {
  removeIpSet: "ipSets", removePolicy: "policies", removeProfile: "profiles", removeWorkloadEndpoint: "workloadEndpoints",
  removeHostEndpoint: "hostEndpoints", removeRoute: "routes", removeVtep: "vteps", removeHost: "hosts", removeIpamPool: "ipamPools",
};

const UPSERT_KEYS: Record<string, (value: never) => [string, string]> = {
  ipSet: (v: { id: string }) => ["ipSets", v.id],
  policy: (v: { id: { name: string; namespace: string; kind: string } }) => ["policies", policyKey(v.id)],
  profile: (v: { id: string }) => ["profiles", v.id],
  workloadEndpoint: (v: { key: string }) => ["workloadEndpoints", v.key],
  hostEndpoint: (v: { key: string }) => ["hostEndpoints", v.key],
  route: (v: { dst: string }) => ["routes", v.dst],
  vtep: (v: { node: string }) => ["vteps", v.node],
  host: (v: { hostname: string }) => ["hosts", v.hostname],
  ipamPool: (v: { id: string }) => ["ipamPools", v.id],
};

function keyedLists(state: DesiredState): Record<string, Array<[string, unknown]>> {
  return {
    ipSets: state.ipSets.map((s) => [s.id, s]),
    policies: state.policies.map((p) => [policyKey(p.id!), p]),
    profiles: state.profiles.map((p) => [p.id, p]),
    workloadEndpoints: state.workloadEndpoints.map((e) => [e.key, e]),
    hostEndpoints: state.hostEndpoints.map((e) => [e.key, e]),
    routes: state.routes.map((r) => [r.dst, r]),
    vteps: state.vteps.map((v) => [v.node, v]),
    hosts: state.hosts.map((h) => [h.hostname, h]),
    ipamPools: state.ipamPools.map((p) => [p.id, p]),
  };
}

/** JSON with IP-set members sorted: membership is a set. */
function normalised(value: unknown): string {
  if (value === undefined) return "absent";
  const v = value as { members?: string[] };
  return JSON.stringify(v.members ? { ...v, members: [...v.members].sort() } : v);
}

/** Dangling references, duplicate keys and non-canonical members in a snapshot. */
function snapshotProblems(state: DesiredState): string[] {
  const out: string[] = [];
  const sets = new Map(state.ipSets.map((s) => [s.id, s]));
  const policies = new Set(state.policies.map((p) => policyKey(p.id!)));
  const profiles = new Set(state.profiles.map((p) => p.id));
  for (const [kind, list] of Object.entries(keyedLists(state))) {
    if (new Set(list.map(([k]) => k)).size !== list.length) out.push(`duplicate keys in ${kind}`);
  }
  for (const set of state.ipSets) {
    for (const m of set.members) if (canonicalIpSetMember(set.type, m, "member") !== m) out.push(`IP set ${set.id} member ${m} is not canonical`);
  }
  const rules = [...state.policies, ...state.profiles].flatMap((p) => [...p.inboundRules, ...p.outboundRules]);
  for (const rule of rules) {
    const address = [...rule.srcIpSetIds, ...rule.notSrcIpSetIds, ...rule.dstIpSetIds, ...rule.notDstIpSetIds];
    const port = [...rule.srcNamedPortIpSetIds, ...rule.notSrcNamedPortIpSetIds, ...rule.dstNamedPortIpSetIds, ...rule.notDstNamedPortIpSetIds, ...rule.dstIpPortSetIds];
    for (const id of address) if (!sets.has(id) || sets.get(id)!.type === IpSetType.IP_SET_TYPE_IP_AND_PORT) out.push(`rule names bad address set ${id}`);
    for (const id of port) if (sets.get(id)?.type !== IpSetType.IP_SET_TYPE_IP_AND_PORT) out.push(`rule names bad port set ${id}`);
    for (const net of [...rule.srcNets, ...rule.notSrcNets, ...rule.dstNets, ...rule.notDstNets]) {
      if (canonicalNet(net, "net") !== net) out.push(`rule net ${net} is not canonical`);
    }
  }
  const endpoints = [...state.workloadEndpoints, ...state.hostEndpoints];
  for (const ep of endpoints) {
    const tiers = "untrackedTiers" in ep ? [...ep.tiers, ...ep.untrackedTiers, ...ep.preDnatTiers, ...ep.forwardTiers] : ep.tiers;
    for (const key of tiers.flatMap((t) => [...t.ingressPolicies, ...t.egressPolicies])) if (!policies.has(key)) out.push(`${ep.key} names absent policy ${key}`);
    for (const id of ep.profileIds) if (!profiles.has(id)) out.push(`${ep.key} names absent profile ${id}`);
  }
  return out;
}

type Mutation = (frame: Uint8Array, random: () => number) => Uint8Array;

const MUTATIONS: Mutation[] = [
  function flipBits(frame, random) {
    const out = Uint8Array.from(frame);
    for (let n = 1 + Math.floor(random() * 4); n > 0; n--) out[Math.floor(random() * out.length)] ^= 1 << Math.floor(random() * 8);
    return out;
  },
  function truncateBody(frame, random) {
    const cut = 8 + Math.floor(random() * (frame.length - 8));
    const out = Uint8Array.from(frame.subarray(0, cut));
    if (random() < 0.7) new DataView(out.buffer).setUint32(0, cut - 8, true); // keep the frame well-formed
    return out;
  },
  function changeLength(frame, random) {
    const out = Uint8Array.from(frame);
    const view = new DataView(out.buffer);
    const choice = random();
    if (choice < 0.4) view.setUint32(0, Math.max(0, frame.length - 8 + Math.floor(random() * 9) - 4), true);
    else if (choice < 0.7) view.setUint32(0, Math.floor(random() * 2 ** 32), true);
    else view.setUint32(4, 1 + Math.floor(random() * 255), true);
    return out;
  },
  function randomBytes(frame, random) {
    const out = Uint8Array.from(frame);
    for (let i = 8 + Math.floor(random() * (out.length - 8)); i < out.length; i++) out[i] = Math.floor(random() * 256);
    return out;
  },
  function insertOrDelete(frame, random) {
    const at = 8 + Math.floor(random() * (frame.length - 8));
    const body = random() < 0.5
      ? [...frame.subarray(8, at), Math.floor(random() * 256), ...frame.subarray(at)]
      : [...frame.subarray(8, at), ...frame.subarray(at + 1)];
    return framed(Uint8Array.from(body));
  },
];

function framed(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.length);
  new DataView(out.buffer).setUint32(0, body.length, true);
  out.set(body, 8);
  return out;
}

/**
 * One frame as it arrives: usually a valid encoding of a random message, sometimes mutated,
 * sometimes random bytes with or without a length prefix. `corruption` is the connection's
 * rate of bad frames: low rates give long connections whose state builds up.
 */
function randomFrame(random: () => number, seq: number, corruption: number): Uint8Array {
  const order = random() < 0.5 ? "go" : "gogo";
  const valid = (): Uint8Array => encodeFelixFrame("ToDataplane", { sequence_number: seq, ...randomToDataplane(random) }, { order });
  if (random() >= corruption) return valid();
  const roll = random();
  if (roll < 0.1) return framed(Uint8Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
  if (roll < 0.15) return Uint8Array.from({ length: 1 + Math.floor(random() * 16) }, () => Math.floor(random() * 256));
  return MUTATIONS[Math.floor(random() * MUTATIONS.length)](valid(), random);
}

const CORRUPTION_RATES = [0.002, 0.02, 0.3];

/** Every kind of model change; a run that never produced one of them did not cover the store. */
const ALL_CHANGE_KINDS = [
  ...Object.keys(UPSERT_KEYS),
  ...Object.keys(REMOVE_KINDS),
  "config",
  "encapsulation",
  "ipSetDelta",
].sort();

test(`fuzz: ${FRAMES} random and mutated frames never break the reader, decoder or store (seed ${SEED})`, () => {
  const random = seededRandom(SEED);
  const context = (detail: string): string => `seed ${SEED} (replay with PTABLES_FUZZ_SEED=${SEED}): ${detail}`;
  let store = new DesiredStateStore();
  let replica = new ChangeReplica(store.snapshot());
  let reader = new FrameReader({ maxFrameBytes: 64 * 1024 });
  const stats = { frameErrors: 0, applied: 0, objectErrors: 0, changes: 0, checks: 0 };
  const changeKinds = new Set<string>();
  let corruption = CORRUPTION_RATES[0];
  const reconnect = (): void => {
    stats.frameErrors++;
    corruption = CORRUPTION_RATES[Math.floor(random() * CORRUPTION_RATES.length)];
    store.reset();
    replica = new ChangeReplica(store.snapshot());
    reader = new FrameReader({ maxFrameBytes: 64 * 1024 });
  };
  const check = (): void => {
    stats.checks++;
    const snapshot = store.snapshot();
    const problems = [...replica.differences(snapshot), ...snapshotProblems(snapshot)];
    if (problems.length > 0) throw new Error(context(problems.slice(0, 5).join("\n")));
  };

  // Frames are fed one after another on one connection, each cut into random chunks. A
  // FrameError ends the connection; the next connection starts with the next frame.
  for (let generated = 1; generated <= FRAMES; generated++) {
    const bytes = randomFrame(random, generated, corruption);
    let pos = 0;
    segment: while (pos < bytes.length) {
      const size = random() < 0.7 ? bytes.length - pos : 1 + Math.floor(random() * 16);
      const chunk = bytes.subarray(pos, pos + size);
      pos += size;
      let frames;
      try {
        frames = reader.push(chunk);
      } catch (err) {
        if (!(err instanceof FrameError)) throw new Error(context(`FrameReader threw ${String(err)}`));
        reconnect();
        break;
      }
      for (const frame of frames) {
        let message;
        try {
          message = decodeToDataplane(frame);
        } catch (err) {
          if (!(err instanceof FrameError)) throw new Error(context(`decode threw ${String(err)}`));
          reconnect();
          break segment;
        }
        let result;
        try {
          result = store.apply(message);
        } catch (err) {
          throw new Error(context(`store.apply threw ${String(err)} for ${JSON.stringify(message, (_, v) => (typeof v === "bigint" ? `${v}` : v))}`));
        }
        stats.applied++;
        stats.changes += result.changes.length;
        for (const c of result.changes) changeKinds.add(c.change?.$case ?? "none");
        stats.objectErrors += result.errors.length;
        for (const error of result.errors) {
          if (error.reason === "" || error.reason.startsWith("internal error")) throw new Error(context(`bad error ${JSON.stringify(error)}`));
        }
        const replayProblem = replica.apply(result.changes);
        if (replayProblem) throw new Error(context(replayProblem));
        if (stats.applied % 250 === 0) check();
      }
    }
  }
  try {
    reader.end();
  } catch (err) {
    if (!(err instanceof FrameError)) throw new Error(context(`FrameReader.end threw ${String(err)}`));
  }
  check();
  // The run must have exercised every path, not just bounced off the framing.
  const coverage = {
    "most frames were applied": stats.applied > FRAMES * 0.8,
    "bad frames ended connections": stats.frameErrors > FRAMES / 1000,
    "objects changed": stats.changes > FRAMES / 5,
    "objects were rejected": stats.objectErrors > FRAMES / 10,
  };
  const missed = Object.entries(coverage).filter(([, ok]) => !ok).map(([what]) => what);
  const unseen = ALL_CHANGE_KINDS.filter((kind) => !changeKinds.has(kind));
  if (unseen.length > 0) missed.push(`no ${unseen.join(", ")} changes`);
  if (missed.length > 0) throw new Error(context(`weak run (${missed.join("; ")}): ${JSON.stringify(stats)}`));
}, 300_000); // The work is bounded by FRAMES; this only guards against a starved CI machine.
