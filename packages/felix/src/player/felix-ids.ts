/**
 * The identifiers Felix derives by hashing: IP set ids (libcalico-go `hash.MakeUniqueID`) and
 * rule ids (felix/calc/rule_convert.go `fillInRuleIDs`). Drivers treat both as opaque, but
 * producing the same values as Felix lets a player stream be compared with a captured one.
 */
import { createHash } from "node:crypto";
import { felix } from "@ptables/proto";

/** `prefix + ":" + base64url_nopad(SHA-224(prefix + ":" + content))`: 38 characters of hash. */
export function makeUniqueId(prefix: string, content: string): string {
  const digest = createHash("sha224").update(`${prefix}:${content}`).digest();
  return `${prefix}:${digest.toString("base64url")}`;
}

/** Felix keeps 16 base64url characters (96 bits) of each rule hash. */
const RULE_ID_LENGTH = 16;

/**
 * Rule fields in the order Go's protobuf runtime (Felix ≥ v3.30) marshals them: fields outside
 * any oneof by field number, then the oneofs (icmp, then not_icmp). Hashing the same bytes as
 * Felix gives the same rule ids.
 */
export const RULE_FIELDS_IN_GO_ORDER: readonly (keyof felix.Rule)[] = [
  "action", // 1
  "ipVersion", // 2
  "protocol", // 3
  "srcNet", // 4
  "srcPorts", // 5
  "dstNet", // 6
  "dstPorts", // 7
  "srcIpSetIds", // 10
  "dstIpSetIds", // 11
  "srcNamedPortIpSetIds", // 12
  "dstNamedPortIpSetIds", // 13
  "dstIpPortSetIds", // 15
  "notProtocol", // 102
  "notSrcNet", // 103
  "notSrcPorts", // 104
  "notDstNet", // 105
  "notDstPorts", // 106
  "notSrcIpSetIds", // 109
  "notDstIpSetIds", // 110
  "notSrcNamedPortIpSetIds", // 112
  "notDstNamedPortIpSetIds", // 113
  "originalSrcSelector", // 114
  "originalDstSelector", // 115
  "originalSrcNamespaceSelector", // 116
  "originalDstNamespaceSelector", // 117
  "originalNotSrcSelector", // 118
  "originalNotDstSelector", // 119
  "srcServiceAccountMatch", // 120
  "dstServiceAccountMatch", // 121
  "httpMatch", // 122
  "metadata", // 123
  "originalDstService", // 130
  "originalDstServiceNamespace", // 131
  "originalSrcService", // 132
  "originalSrcServiceNamespace", // 133
  "ruleId", // 201
  "icmp", // oneof: 8 or 9
  "notIcmp", // oneof: 107 or 108
];

/**
 * Serialises a rule with its fields in Go's order. A protobuf message is the concatenation of
 * its fields' encodings, so encoding one field at a time and joining them in the right order
 * gives exactly Go's bytes (no maps are involved: rule metadata is never set by the player).
 */
export function encodeRuleLikeGo(rule: felix.Rule): Buffer {
  const parts: Uint8Array[] = [];
  for (const field of RULE_FIELDS_IN_GO_ORDER) {
    const single = felix.Rule.fromPartial({ [field]: rule[field] } as Partial<felix.Rule>);
    parts.push(felix.Rule.encode(single).finish());
  }
  return Buffer.concat(parts);
}

/**
 * Fills in `ruleId` for each rule: a SHA-224 chain seeded with `seed` (e.g.
 * "pol-in-default/<policy name>", "prof-out-<profile name>"), where each rule's hash covers the
 * previous hash and the rule's bytes with `ruleId` cleared. Position and every earlier rule
 * therefore affect an id.
 */
export function fillInRuleIds(rules: felix.Rule[], seed: string): void {
  let hash = createHash("sha224").update(seed).digest();
  for (const rule of rules) {
    rule.ruleId = "";
    hash = createHash("sha224").update(hash).update(encodeRuleLikeGo(rule)).digest();
    rule.ruleId = hash.toString("base64url").slice(0, RULE_ID_LENGTH);
  }
}
