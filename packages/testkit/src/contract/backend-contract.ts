/**
 * The contract every backend must pass (reference DPU, eBPF/tc, vendor DPUs): a jest suite that
 * writes through the Backend interface and reads back. Call it from a backend's own test file:
 *
 *   runBackendContract("reference-dpu", async () => new ReferenceDpuBackend());
 *
 * Each test gets a fresh backend from `makeBackend`, opened and cleaned up first (open, cleanup,
 * open), and cleaned up and closed afterwards. Only @ptables/api is used; jest's functions are
 * taken from the test environment when the suite is declared.
 */
import { CachingTable, DpAction, TABLE_UPSERT_ORDER, type Backend, type Present, type SetMemberKey, type TableBackend, type Tables } from "@ptables/api";
import type { afterEach as AfterEach, beforeEach as BeforeEach, describe as Describe, expect as Expect, test as Test } from "@jest/globals";
import * as state from "./contract-state";

export interface BackendContractOptions {
  /** Interface names endpoints are written for (at least two); the eBPF backend needs real links. */
  endpointIfnames?: string[];
  /** Round-trip routes and neighbours; defaults to the backend's capabilities().forwarding. */
  forwardingTables?: boolean;
  /** Members written in the large-batch test (default 10000). */
  largeBatch?: number;
  /** Per-test timeout in milliseconds (default 60000). */
  timeoutMs?: number;
}

interface JestFunctions {
  describe: typeof Describe;
  test: typeof Test;
  expect: typeof Expect;
  beforeEach: typeof BeforeEach;
  afterEach: typeof AfterEach;
}

function jestFunctions(): JestFunctions {
  const g = globalThis as unknown as Partial<JestFunctions>;
  if (!g.describe || !g.test || !g.expect || !g.beforeEach || !g.afterEach) throw new Error("runBackendContract: call it from a jest test file");
  return g as JestFunctions;
}

type Entries<K, V> = Array<[K, V]>;

/** Entries ordered by key string, so two readbacks compare regardless of order. */
function byKey<K, V>(table: TableBackend<K, V>, entries: Entries<K, V>): Entries<K, V> {
  return [...entries].sort((a, b) => (table.keyString(a[0]) < table.keyString(b[0]) ? -1 : 1));
}

export function runBackendContract(name: string, makeBackend: () => Promise<Backend>, opts: BackendContractOptions = {}): void {
  const { describe, test, expect, beforeEach, afterEach } = jestFunctions();
  const ifnames = opts.endpointIfnames ?? ["ptc0", "ptc1"];
  const largeBatch = opts.largeBatch ?? 10000;
  const timeout = opts.timeoutMs ?? 60000;
  if (ifnames.length < 2) throw new Error("runBackendContract: endpointIfnames needs at least two names");

  describe(`backend contract: ${name}`, () => {
    let backend: Backend;
    const forwarding = (): boolean => opts.forwardingTables ?? backend.capabilities().forwarding;

    /** Every table's sample entries (routes and neighbours only when the backend keeps them). */
    function fullState(): { [K in keyof Tables]?: Entries<unknown, unknown> } {
      return {
        setMembers: state.setMembers(),
        portSets: state.portSets(),
        rules: state.rules(),
        endpoints: state.endpoints(ifnames),
        ...(forwarding() ? { routes: state.routes(ifnames[0]!), neighbours: state.neighbours(ifnames[0]!) } : {}),
      };
    }
    const table = (t: keyof Tables): TableBackend<unknown, unknown> => backend.tables[t] as TableBackend<unknown, unknown>;

    async function expectHolds<K, V>(t: TableBackend<K, V>, want: Entries<K, V>): Promise<void> {
      const have = byKey(t, await t.loadAll());
      expect(have).toEqual(byKey(t, want));
      byKey(t, want).forEach(([, v], i) => expect(t.valueEquals(have[i]![1], v)).toBe(true));
    }

    beforeEach(async () => {
      backend = await makeBackend();
      await backend.open();
      await backend.cleanup();
      await backend.open();
    }, timeout);

    afterEach(async () => {
      await backend.cleanup();
      await backend.close();
    }, timeout);

    test("capabilities are sane and stable", () => {
      const caps = backend.capabilities();
      expect(backend.name).toMatch(/\S/);
      for (const n of [caps.maxRulesPerProgram, caps.maxSetMembers, caps.maxEndpoints]) expect(Number.isSafeInteger(n) && n > 0).toBe(true);
      expect(caps.maxRulesPerProgram).toBeGreaterThanOrEqual(3);
      expect(caps.maxEndpoints).toBeGreaterThanOrEqual(ifnames.length);
      expect([typeof caps.ipv6, typeof caps.forwarding, typeof caps.conntrack]).toEqual(["boolean", "boolean", "boolean"]);
      expect(caps.description).toMatch(/\S/);
      expect(backend.capabilities()).toEqual(caps);
    });

    test("every table round-trips upserts, updates and deletes; loadAll returns exactly what was written", async () => {
      for (const [t, entries] of Object.entries(fullState()) as Array<[keyof Tables, Entries<unknown, unknown>]>) {
        const tb = table(t);
        expect(tb.name).toMatch(/\S/);
        expect(new Set(entries.map(([k]) => tb.keyString(k))).size).toBe(entries.length);
        expect([t, await tb.applyBatch(entries, [])]).toEqual([t, []]);
        await expectHolds(tb, entries);
        // Rewriting the same entries is harmless.
        expect(await tb.applyBatch(entries.slice(0, 1), [])).toEqual([]);
        const [gone, ...kept] = entries;
        expect(await tb.applyBatch([], [gone![0]])).toEqual([]);
        await expectHolds(tb, kept);
      }
      // Updates replace values in place.
      const [ruleKey] = state.rules()[0]!;
      const updated = { ...state.fullRule(0, 42n), srcSets: [7] };
      expect(await backend.tables.rules.applyBatch([[ruleKey, updated]], [])).toEqual([]);
      const stored = (await backend.tables.rules.loadAll()).find(([k]) => backend.tables.rules.keyString(k) === backend.tables.rules.keyString(ruleKey));
      expect(stored?.[1]).toEqual(updated);
    }, timeout);

    test("deleting absent entries succeeds and changes nothing", async () => {
      for (const [t, entries] of Object.entries(fullState()) as Array<[keyof Tables, Entries<unknown, unknown>]>) {
        expect([t, await table(t).applyBatch([], entries.map(([k]) => k))]).toEqual([t, []]);
        expect([t, await table(t).loadAll()]).toEqual([t, []]);
      }
    }, timeout);

    test(`a batch of ${largeBatch} set members is written, read back and deleted`, async () => {
      const members = state.manyMembers(largeBatch);
      expect(await backend.tables.setMembers.applyBatch(members, [])).toEqual([]);
      const loaded = await backend.tables.setMembers.loadAll();
      expect(loaded).toHaveLength(largeBatch);
      const ks = (e: Entries<SetMemberKey, Present>): string[] => e.map(([k]) => backend.tables.setMembers.keyString(k)).sort();
      expect(ks(loaded)).toEqual(ks(members));
      expect(await backend.tables.setMembers.applyBatch([], members.map(([k]) => k))).toEqual([]);
      expect(await backend.tables.setMembers.loadAll()).toEqual([]);
    }, timeout);

    test("a second CachingTable over the same backend makes zero writes on resync", async () => {
      const full = fullState();
      const order = TABLE_UPSERT_ORDER.filter((t) => full[t]);
      for (const t of order) {
        const writer = new CachingTable(table(t));
        for (const [k, v] of full[t]!) writer.setDesired(k, v);
        expect([t, (await writer.applyUpserts()).errors.size]).toEqual([t, 0]);
      }
      for (const t of order) {
        const restarted = new CachingTable(table(t));
        for (const [k, v] of full[t]!) restarted.setDesired(k, v);
        await restarted.applyUpserts();
        await restarted.applyDeletes(true);
        expect([t, restarted.writes, restarted.pendingCount()]).toEqual([t, 0, 0]);
      }
    }, timeout);

    test("endpoints point at programs, and one write flips an endpoint to its other slot", async () => {
      expect(await backend.tables.rules.applyBatch(state.rules(), [])).toEqual([]);
      const eps = state.endpoints(ifnames);
      expect(await backend.tables.endpoints.applyBatch(eps, [])).toEqual([]);
      await expectHolds(backend.tables.endpoints, eps);
      const flipped: typeof eps = [[eps[0]![0], state.endpointValue(state.PROGRAM_B)], eps[1]!];
      expect(await backend.tables.endpoints.applyBatch([flipped[0]!], [])).toEqual([]);
      await expectHolds(backend.tables.endpoints, flipped);
      // The old program's rules go once nothing points at them; the endpoint is untouched.
      const oldRules = state.rules().filter(([k]) => k.programId === state.PROGRAM_A);
      expect(await backend.tables.endpoints.applyBatch([], [eps[1]![0]])).toEqual([]);
      expect(await backend.tables.rules.applyBatch([], oldRules.map(([k]) => k))).toEqual([]);
      await expectHolds(backend.tables.rules, state.rules().filter(([k]) => k.programId === state.PROGRAM_B));
      await expectHolds(backend.tables.endpoints, [flipped[0]!]);
    }, timeout);

    test("host endpoints (backends that declare them): hook programs round-trip in canonical form; host interfaces are listed", async () => {
      if (!backend.capabilities().hostEndpoints) {
        expect(backend.capabilities().hostEndpoints).toBe(false);
        return;
      }
      expect(typeof backend.hostInterfaces).toBe("function");
      const links = await backend.hostInterfaces!();
      expect(links.every((l) => typeof l.ifname === "string" && l.ifname !== "" && Array.isArray(l.addrs))).toBe(true);
      expect(await backend.tables.rules.applyBatch(state.rules(), [])).toEqual([]);
      const host = state.hostEndpointValue(state.PROGRAM_A, state.PROGRAM_B);
      const workloadWithToHost = { ...state.endpointValue(state.PROGRAM_A), toHost: { program: state.PROGRAM_B, length: 3 } };
      // {0, 0} hooks are the same as absent hooks: read back absent, and equal either way.
      const withZero = { ...state.endpointValue(state.PROGRAM_A), forwardIngress: { program: 0, length: 0 } };
      expect(await backend.tables.endpoints.applyBatch([[{ ifname: ifnames[0]! }, host], [{ ifname: ifnames[1]! }, withZero]], [])).toEqual([]);
      await expectHolds(backend.tables.endpoints, [
        [{ ifname: ifnames[0]! }, host],
        [{ ifname: ifnames[1]! }, state.endpointValue(state.PROGRAM_A)],
      ]);
      expect(backend.tables.endpoints.valueEquals(withZero, state.endpointValue(state.PROGRAM_A))).toBe(true);
      expect(backend.tables.endpoints.valueEquals(workloadWithToHost, state.endpointValue(state.PROGRAM_A))).toBe(false);
      expect(await backend.tables.endpoints.applyBatch([[{ ifname: ifnames[1]! }, workloadWithToHost]], [])).toEqual([]);
      await expectHolds(backend.tables.endpoints, [
        [{ ifname: ifnames[0]! }, host],
        [{ ifname: ifnames[1]! }, workloadWithToHost],
      ]);
    }, timeout);

    test("an entry the backend cannot hold is reported per entry, not thrown; the rest are applied", async () => {
      const max = backend.capabilities().maxRulesPerProgram;
      const [first, second] = state.rules();
      const [k0, r0] = first!;
      // A rule index one past the longest program the backend says it can hold.
      const beyond: typeof k0 = { programId: k0.programId, index: max };
      const ruleErrors = await backend.tables.rules.applyBatch([first!, [beyond, { ...r0, action: DpAction.Deny, jump: 0 }], second!], []);
      expect(ruleErrors.map((e) => [e.index, e.op])).toEqual([[1, "upsert"]]);
      expect(ruleErrors[0]!.message).toMatch(/\S/);
      await expectHolds(backend.tables.rules, [first!, second!]);

      const good = state.setMembers()[0]!;
      const tooLong4: [SetMemberKey, Present] = [{ ...good[0], family: 4, addr: "10.0.0.0", prefixLen: 33 }, true];
      const tooLong6: [SetMemberKey, Present] = [{ ...good[0], family: 6, addr: "fd00::", prefixLen: 129 }, true];
      const memberErrors = await backend.tables.setMembers.applyBatch([tooLong4, good, tooLong6], []);
      expect(memberErrors.map((e) => [e.index, e.op])).toEqual([[0, "upsert"], [2, "upsert"]]);
      expect(memberErrors.every((e) => /\S/.test(e.message))).toBe(true);
      await expectHolds(backend.tables.setMembers, [good]);

      const portErrors = await backend.tables.portSets.applyBatch([[{ setId: 9, port: 80, prefixLen: 17 }, true]], []);
      expect(portErrors.map((e) => [e.index, e.op])).toEqual([[0, "upsert"]]);
    }, timeout);

    test("cleanup removes everything", async () => {
      const full = fullState();
      for (const t of TABLE_UPSERT_ORDER) if (full[t]) expect(await table(t).applyBatch(full[t]!, [])).toEqual([]);
      await backend.cleanup();
      await backend.open();
      for (const t of Object.keys(backend.tables) as Array<keyof Tables>) expect([t, await table(t).loadAll()]).toEqual([t, []]);
      expect((await backend.readRuleCounters()).size).toBe(0);
    }, timeout);

    test("counters and flows can be read", async () => {
      expect(await backend.readRuleCounters()).toBeInstanceOf(Map);
      expect(await backend.readDropCounters()).toBeInstanceOf(Map);
      const flows = await backend.listFlows(10);
      expect(Array.isArray(flows) && flows.length <= 10).toBe(true);
      expect(await backend.deleteFlows([])).toBe(0);
    }, timeout);
  });
}
