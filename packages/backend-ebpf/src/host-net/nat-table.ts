/**
 * NAT outgoing (Felix's `natOutgoing` on an IP pool): an nftables table per family owned by
 * ptables, recognised by its name, `table ip ptables-nat` / `table ip6 ptables-nat`:
 *
 *   set masq-pools { type ipv4_addr; flags interval; elements = { <pools with natOutgoing> } }
 *   set all-pools  { type ipv4_addr; flags interval; elements = { <every pool> } }
 *   chain postrouting {
 *     type nat hook postrouting priority srcnat; policy accept;
 *     ip saddr @masq-pools ip daddr != @all-pools counter masquerade fully-random
 *   }
 *
 * which is Felix's cali-nat-outgoing rule (MASQUERADE --random-fully from the masquerade pools to
 * anything outside all pools). A write replaces the whole table in one nft transaction (add,
 * delete, recreate), so there is never a moment with half a table. The readback parses
 * `nft -j list table` and reports a chain or rule that is not exactly ours as drift.
 */
import { ValidationError, errorMessage, natOutgoingKeyString, natOutgoingValueEquals, type EntryError, type NatOutgoingKey, type NatOutgoingValue, type TableBackend } from "@ptables/api";
import { canonicalCidr } from "../tables/routes-table";
import { runOk, type HostSystem } from "./host-system";

/** The name of ptables' NAT tables (one in family ip, one in ip6). */
export const NAT_TABLE = "ptables-nat";

const nftFamily = (family: 4 | 6): "ip" | "ip6" => (family === 4 ? "ip" : "ip6");

/** The nft script that makes the table exactly `value` (atomic). */
export function natScript(family: 4 | 6, value: NatOutgoingValue): string {
  const fam = nftFamily(family);
  const type = family === 4 ? "ipv4_addr" : "ipv6_addr";
  const set = (name: string, cidrs: string[]) =>
    `  set ${name} { type ${type}; flags interval;${cidrs.length > 0 ? ` elements = { ${cidrs.join(", ")} };` : ""} }`;
  return [
    `table ${fam} ${NAT_TABLE} {}`,
    `delete table ${fam} ${NAT_TABLE}`,
    `table ${fam} ${NAT_TABLE} {`,
    set("masq-pools", value.masquerade),
    set("all-pools", value.pools),
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
    `    ${fam} saddr @masq-pools ${fam} daddr != @all-pools counter masquerade fully-random`,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** The nft script that removes the table, whether or not it exists. */
export function natDeleteScript(family: 4 | 6): string {
  const fam = nftFamily(family);
  return `table ${fam} ${NAT_TABLE} {}\ndelete table ${fam} ${NAT_TABLE}\n`;
}

function checkValue(key: NatOutgoingKey, value: NatOutgoingValue): NatOutgoingValue {
  const where = `nat outgoing ipv${String(key.family)}`;
  if (key.family !== 4 && key.family !== 6) throw new ValidationError(where, "family is not 4 or 6");
  const canon = (list: string[], field: string) =>
    [
      ...new Set(
        list.map((c) => {
          const net = canonicalCidr(c);
          if (!net || net.family !== key.family) throw new ValidationError(where, `${field}: "${c}" is not an IPv${key.family} CIDR`);
          return net.cidr;
        }),
      ),
    ].sort();
  const out = { masquerade: canon(value.masquerade, "masquerade"), pools: canon(value.pools, "pools") };
  const missing = out.masquerade.filter((c) => !out.pools.includes(c));
  if (missing.length > 0) throw new ValidationError(where, `masquerade pools ${missing.join(", ")} are not in pools`);
  return out;
}

type NftItem = Record<string, any>;

/** One element of an interval set in nft's JSON: "10.0.0.1", {prefix: {addr, len}} or {range: [a, b]}. */
function elementCidr(e: unknown, family: 4 | 6): string | undefined {
  if (typeof e === "string") return canonicalCidr(e)?.cidr;
  const p = (e as NftItem)?.prefix;
  if (p && typeof p.addr === "string") return canonicalCidr(`${p.addr}/${p.len}`)?.cidr;
  const r = (e as NftItem)?.range;
  if (Array.isArray(r)) return `range ${r.join("-")} (not a pool CIDR, ipv${family})`;
  return undefined;
}

/** Reads one family's table from `nft -j list table` output; anything that is not exactly ours is reported in `drift`. */
export function parseNatTable(family: 4 | 6, json: { nftables?: NftItem[] }): NatOutgoingValue {
  const fam = nftFamily(family);
  const items = json.nftables ?? [];
  const setElems = (name: string): string[] => {
    const s = items.find((i) => i.set && i.set.name === name)?.set;
    return (Array.isArray(s?.elem) ? s.elem : []).map((e: unknown) => elementCidr(e, family) ?? JSON.stringify(e)).sort();
  };
  const value: NatOutgoingValue = { masquerade: setElems("masq-pools"), pools: setElems("all-pools") };
  const problems: string[] = [];
  const chain = items.find((i) => i.chain && i.chain.name === "postrouting")?.chain;
  if (!chain || chain.type !== "nat" || chain.hook !== "postrouting" || chain.prio !== 100 || chain.policy !== "accept") problems.push("chain postrouting is not ours");
  const rules = items.filter((i) => i.rule).map((i) => i.rule);
  const ours = (rule: NftItem): boolean => {
    const e: NftItem[] = rule.expr ?? [];
    const match = (op: string, field: string, set: string) =>
      e.some((x) => x.match && x.match.op === op && x.match.left?.payload?.protocol === fam && x.match.left?.payload?.field === field && x.match.right === set);
    return match("==", "saddr", "@masq-pools") && match("!=", "daddr", "@all-pools") && e.some((x) => x.masquerade !== undefined);
  };
  if (rules.length !== 1 || !ours(rules[0]!)) problems.push(`postrouting holds ${rules.length} rule(s), not exactly the masquerade rule`);
  if (items.some((i) => i.set && i.set.name !== "masq-pools" && i.set.name !== "all-pools")) problems.push("extra sets");
  return problems.length > 0 ? { ...value, drift: problems.join("; ") } : value;
}

export class NatOutgoingTable implements TableBackend<NatOutgoingKey, NatOutgoingValue> {
  readonly name = "natOutgoing";

  constructor(private readonly sys: HostSystem) {}

  keyString(key: NatOutgoingKey): string {
    return natOutgoingKeyString(key);
  }

  valueEquals(a: NatOutgoingValue, b: NatOutgoingValue): boolean {
    return natOutgoingValueEquals(a, b);
  }

  async loadAll(): Promise<Array<[NatOutgoingKey, NatOutgoingValue]>> {
    const out: Array<[NatOutgoingKey, NatOutgoingValue]> = [];
    for (const family of [4, 6] as const) {
      const r = await this.sys.run(["nft", "-j", "list", "table", nftFamily(family), NAT_TABLE]);
      if (r.code !== 0) {
        if (/No such file or directory/.test(r.stderr)) continue;
        throw new Error(`nft list table ${nftFamily(family)} ${NAT_TABLE}: ${r.stderr.trim() || `exit ${r.code}`}`);
      }
      out.push([{ family }, parseNatTable(family, JSON.parse(r.stdout) as { nftables?: NftItem[] })]);
    }
    return out;
  }

  async applyBatch(upserts: Array<[NatOutgoingKey, NatOutgoingValue]>, deletes: NatOutgoingKey[]): Promise<EntryError[]> {
    const errors: EntryError[] = [];
    for (const [index, [key, value]] of upserts.entries()) {
      try {
        await runOk(this.sys, ["nft", "-f", "-"], natScript(key.family, checkValue(key, value)));
      } catch (err) {
        errors.push({ index, op: "upsert", message: errorMessage(err) });
      }
    }
    for (const [index, key] of deletes.entries()) {
      try {
        if (key.family !== 4 && key.family !== 6) throw new ValidationError(`nat outgoing ipv${String(key.family)}`, "family is not 4 or 6");
        await runOk(this.sys, ["nft", "-f", "-"], natDeleteScript(key.family));
      } catch (err) {
        errors.push({ index, op: "delete", message: errorMessage(err) });
      }
    }
    return errors;
  }
}
