/** The rules table (pt_rules): one entry per (program, index); counters follow their rules. */
import { NotSupportedError, type CompiledRule, type RuleKey, type TableBackend } from "@ptables/api";
import { decodeRule, decodeRuleKey, encodeRule, encodeRuleKey, ruleEquals, ruleKeyString, ruleWhere } from "../codec/rule-codec";
import type { BpfMap } from "../native/bpf-map";
import { MapTable } from "./map-table";
import type { RuleCounterRefs } from "./rule-counter-refs";

/**
 * `maxRulesPerProgram` rejects rules at or beyond that index (they could never run: endpoints
 * longer than the cap are rejected too).
 */
export function createRulesTable(rules: () => BpfMap, refs: RuleCounterRefs, maxRulesPerProgram: number): TableBackend<RuleKey, CompiledRule> {
  return new MapTable<RuleKey, CompiledRule>(
    "rules",
    rules,
    {
      keyString: ruleKeyString,
      valueEquals: ruleEquals,
      encodeKey: (key, out, offset) => {
        encodeRuleKey(key, out, offset);
        if (key.index >= maxRulesPerProgram) {
          throw new NotSupportedError("rules per program", `${ruleWhere(key)}: index ${key.index} is beyond the limit of ${maxRulesPerProgram} rules`);
        }
      },
      encodeValue: (key, rule, out, offset) => encodeRule(rule, out, offset, ruleWhere(key), key.index),
      decode: (key, value) => [decodeRuleKey(key), decodeRule(value)],
    },
    refs,
  );
}
