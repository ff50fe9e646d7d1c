/**
 * The well-known sets (WELL_KNOWN_SETS in @ptables/api) -> setMembers: the Service
 * destinations (DataplaneConfig.serviceNets) and the host's own addresses (from the backend's
 * host interfaces). Their ids are claimed before any Felix IP set or synthetic set can take them,
 * so a colliding set reports an error instead of sharing the entries. Only for backends with
 * capabilities().hostEndpoints; each set's entries are reconciled by difference, so an unchanged
 * list writes nothing.
 */
import { WELL_KNOWN_SETS, errorMessage, type CachingTable, type Present, type SetMemberKey } from "@ptables/api";
import type { PolicyCompiler } from "./compiler";
import type { IdRegistry } from "./id-registry";

type WellKnown = keyof typeof WELL_KNOWN_SETS;

export class WellKnownSetManager {
  private readonly held = new Map<WellKnown, Map<string, SetMemberKey>>();
  /** Why a list could not be written (a bad entry), by set. */
  readonly problems = new Map<WellKnown, string>();

  constructor(
    private readonly members: CachingTable<SetMemberKey, Present>,
    registry: IdRegistry,
    private readonly compiler: PolicyCompiler,
    readonly enabled: boolean,
  ) {
    if (!enabled) return;
    for (const [name, id] of Object.entries(WELL_KNOWN_SETS)) registry.claim(id, `well-known set ${name}`);
  }

  /** Makes set `name` hold exactly `cidrs` (canonical or not); no-op when disabled. */
  set(name: WellKnown, cidrs: readonly string[]): void {
    if (!this.enabled) return;
    let keys: SetMemberKey[];
    try {
      keys = this.compiler.netSetMemberKeys(WELL_KNOWN_SETS[name], [...cidrs]);
      this.problems.delete(name);
    } catch (err) {
      // Keep what is there: better a stale list than an empty one.
      this.problems.set(name, errorMessage(err));
      return;
    }
    const want = new Map(keys.map((k) => [this.members.keyString(k), k]));
    const have = this.held.get(name) ?? new Map<string, SetMemberKey>();
    for (const [ks, k] of have) if (!want.has(ks)) this.members.deleteDesired(k);
    for (const [ks, k] of want) if (!have.has(ks)) this.members.setDesired(k, true);
    this.held.set(name, want);
  }

  /** The entries of one set as written (canonical "addr/len"), for State and tests. */
  list(name: WellKnown): string[] {
    return [...(this.held.get(name)?.values() ?? [])].map((k) => `${k.addr}/${k.prefixLen}`).sort();
  }
}
