/** pt_rules entries (struct pt_rule_key -> struct pt_rule) <-> RuleKey / CompiledRule. */
import { DpAction, MAX_SET_REFS, ValidationError, type CompiledRule, type RuleKey } from "@ptables/api";
import { checkInt, checkSetId, checkU32, checkU64 } from "./field-checks";
import { DROP_REASON_SLOTS, RULE, RULE_KEY } from "./layouts";

const F = RULE.fields;

/** Scalar set-id fields (0 = none) and their offsets. */
const SET_FIELDS = [
  ["srcNet", F.src_net],
  ["notSrcNet", F.not_src_net],
  ["dstNet", F.dst_net],
  ["notDstNet", F.not_dst_net],
  ["srcPorts", F.src_ports],
  ["notSrcPorts", F.not_src_ports],
  ["dstPorts", F.dst_ports],
  ["notDstPorts", F.not_dst_ports],
] as const;

/** Lists of up to MAX_SET_REFS set ids, stored 0-terminated. */
const LIST_FIELDS = [
  ["srcSets", F.src_sets],
  ["notSrcSets", F.not_src_sets],
  ["dstSets", F.dst_sets],
  ["notDstSets", F.not_dst_sets],
  ["srcNamedPorts", F.src_named_ports],
  ["notSrcNamedPorts", F.not_src_named_ports],
  ["dstNamedPorts", F.dst_named_ports],
  ["notDstNamedPorts", F.not_dst_named_ports],
  ["dstIpPortSets", F.dst_ip_port_sets],
] as const;

/** Fields holding a value + 1 (0 = no constraint). */
const PLUS_ONE_FIELDS = [
  ["proto", F.proto],
  ["notProto", F.not_proto],
  ["icmpType", F.icmp_type],
  ["icmpCode", F.icmp_code],
  ["notIcmpType", F.not_icmp_type],
  ["notIcmpCode", F.not_icmp_code],
] as const;

export function ruleWhere(key: RuleKey): string {
  return `rule ${key.programId}/${key.index}`;
}

export function encodeRuleKey(key: RuleKey, out: Buffer, offset = 0): void {
  const where = ruleWhere(key);
  out.writeUInt32LE(checkU32(where, "programId", key.programId), offset + RULE_KEY.fields.prog);
  out.writeUInt32LE(checkU32(where, "index", key.index), offset + RULE_KEY.fields.idx);
}

export function decodeRuleKey(buf: Buffer, offset = 0): RuleKey {
  return { programId: buf.readUInt32LE(offset + RULE_KEY.fields.prog), index: buf.readUInt32LE(offset + RULE_KEY.fields.idx) };
}

export function ruleKeyString(key: RuleKey): string {
  return `${key.programId}/${key.index}`;
}

/** Writes `rule` at `offset`; `where` names the rule in errors. Jumps must point forward of `index`. */
export function encodeRule(rule: CompiledRule, out: Buffer, offset: number, where: string, index: number): void {
  const action = checkInt(where, "action", rule.action, DpAction.Allow, DpAction.Jump);
  const reason = checkInt(where, "reason", rule.reason, 0, DROP_REASON_SLOTS - 1);
  const jump = checkU32(where, "jump", rule.jump);
  if (action === DpAction.Jump && jump <= index) {
    throw new ValidationError(where, `jump ${jump} must be greater than the rule's own index ${index}`);
  }
  if (rule.ipVersion !== 0 && rule.ipVersion !== 4 && rule.ipVersion !== 6) {
    throw new ValidationError(where, `ipVersion ${String(rule.ipVersion)} is not 0, 4 or 6`);
  }
  out.fill(0, offset, offset + RULE.size);
  out.writeBigUInt64LE(checkU64(where, "counterId", rule.counterId), offset + F.counter_id);
  out.writeUInt8(action, offset + F.action);
  out.writeUInt8(reason, offset + F.reason);
  out.writeUInt8(rule.ipVersion, offset + F.ip_version);
  out.writeUInt32LE(jump, offset + F.jump);
  for (const [name, at] of PLUS_ONE_FIELDS) out.writeUInt16LE(checkInt(where, name, rule[name], 0, 256), offset + at);
  for (const [name, at] of SET_FIELDS) {
    const id = rule[name];
    out.writeUInt32LE(id === 0 ? 0 : checkSetId(where, name, id), offset + at);
  }
  for (const [name, at] of LIST_FIELDS) {
    const ids = rule[name];
    if (!Array.isArray(ids)) throw new ValidationError(where, `${name} is not a list`);
    if (ids.length > MAX_SET_REFS) {
      throw new ValidationError(where, `${name} has ${ids.length} sets; the datapath takes at most ${MAX_SET_REFS}`);
    }
    ids.forEach((id, i) => out.writeUInt32LE(checkSetId(where, `${name}[${i}]`, id), offset + at + i * 4));
  }
}

export function decodeRule(buf: Buffer, offset = 0): CompiledRule {
  const u16 = (at: number) => buf.readUInt16LE(offset + at);
  const u32 = (at: number) => buf.readUInt32LE(offset + at);
  const list = (at: number) => {
    const ids: number[] = [];
    for (let i = 0; i < MAX_SET_REFS; i++) {
      const id = u32(at + i * 4);
      if (id === 0) break;
      ids.push(id);
    }
    return ids;
  };
  const ipVersion = buf.readUInt8(offset + F.ip_version);
  return {
    action: buf.readUInt8(offset + F.action) as DpAction,
    reason: buf.readUInt8(offset + F.reason),
    jump: u32(F.jump),
    ipVersion: ipVersion === 4 || ipVersion === 6 ? ipVersion : 0,
    proto: u16(F.proto),
    notProto: u16(F.not_proto),
    srcNet: u32(F.src_net),
    notSrcNet: u32(F.not_src_net),
    dstNet: u32(F.dst_net),
    notDstNet: u32(F.not_dst_net),
    srcSets: list(F.src_sets),
    notSrcSets: list(F.not_src_sets),
    dstSets: list(F.dst_sets),
    notDstSets: list(F.not_dst_sets),
    srcPorts: u32(F.src_ports),
    notSrcPorts: u32(F.not_src_ports),
    dstPorts: u32(F.dst_ports),
    notDstPorts: u32(F.not_dst_ports),
    srcNamedPorts: list(F.src_named_ports),
    notSrcNamedPorts: list(F.not_src_named_ports),
    dstNamedPorts: list(F.dst_named_ports),
    notDstNamedPorts: list(F.not_dst_named_ports),
    dstIpPortSets: list(F.dst_ip_port_sets),
    icmpType: u16(F.icmp_type),
    icmpCode: u16(F.icmp_code),
    notIcmpType: u16(F.not_icmp_type),
    notIcmpCode: u16(F.not_icmp_code),
    counterId: buf.readBigUInt64LE(offset + F.counter_id),
  };
}

/** Field-by-field equality (lists in order), as the datapath sees rules. */
export function ruleEquals(a: CompiledRule, b: CompiledRule): boolean {
  if (a.counterId !== b.counterId) return false;
  const scalars = ["action", "reason", "jump", "ipVersion", ...PLUS_ONE_FIELDS.map(([n]) => n), ...SET_FIELDS.map(([n]) => n)] as const;
  for (const name of scalars) if (a[name] !== b[name]) return false;
  for (const [name] of LIST_FIELDS) {
    const x = a[name];
    const y = b[name];
    if (x.length !== y.length || x.some((id, i) => id !== y[i])) return false;
  }
  return true;
}
