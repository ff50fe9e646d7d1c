/** pt_members keys (struct pt_member_key) <-> SetMemberKey. */
import { ValidationError, type SetMemberKey } from "@ptables/api";
import { checkFamily, checkInt, checkSetId } from "./field-checks";
import { formatIpBytes, maskIpBytes, parseIpBytes } from "./ip-bytes";
import { MEMBER_FIXED_BITS, MEMBER_KEY } from "./layouts";

const F = MEMBER_KEY.fields;

/** Validates a member key and returns its address bytes with host bits cleared. */
function memberAddress(key: SetMemberKey): Buffer {
  const where = `set member ${key.setId}/${key.addr}/${key.prefixLen}`;
  checkSetId(where, "setId", key.setId);
  const family = checkFamily(where, key.family);
  checkInt(where, "proto", key.proto, 0, 255);
  checkInt(where, "port", key.port, 0, 65535);
  checkInt(where, "prefixLen", key.prefixLen, 0, family === 4 ? 32 : 128);
  const bytes = typeof key.addr === "string" ? parseIpBytes(key.addr, family) : undefined;
  if (!bytes) throw new ValidationError(where, `addr "${String(key.addr)}" is not an IPv${family} address`);
  return maskIpBytes(bytes, key.prefixLen);
}

/** Writes the key at `offset` of `out`; throws ValidationError for an invalid key. */
export function encodeMemberKey(key: SetMemberKey, out: Buffer, offset = 0): void {
  const addr = memberAddress(key);
  out.fill(0, offset, offset + MEMBER_KEY.size);
  out.writeUInt32LE(MEMBER_FIXED_BITS + key.prefixLen, offset + F.prefixlen);
  out.writeUInt32BE(key.setId, offset + F.set_id_be);
  out.writeUInt8(key.family, offset + F.family);
  out.writeUInt8(key.proto, offset + F.proto);
  out.writeUInt16BE(key.port, offset + F.port_be);
  addr.copy(out, offset + F.addr);
}

export function decodeMemberKey(buf: Buffer, offset = 0): SetMemberKey {
  const family = buf.readUInt8(offset + F.family) === 6 ? 6 : 4;
  return {
    setId: buf.readUInt32BE(offset + F.set_id_be),
    family,
    proto: buf.readUInt8(offset + F.proto),
    port: buf.readUInt16BE(offset + F.port_be),
    addr: formatIpBytes(buf.subarray(offset + F.addr, offset + F.addr + 16), family),
    prefixLen: buf.readUInt32LE(offset + F.prefixlen) - MEMBER_FIXED_BITS,
  };
}

/** Identity of a member: canonical address with host bits cleared, so any spelling compares equal. */
export function memberKeyString(key: SetMemberKey): string {
  let addr: string;
  try {
    addr = formatIpBytes(memberAddress(key), key.family);
  } catch {
    addr = String(key.addr); // invalid keys still need a stable identity; applyBatch rejects them
  }
  return `${key.setId}|${key.family}|${key.proto}|${key.port}|${addr}/${key.prefixLen}`;
}
