/** pt_ports keys (struct pt_port_key) <-> PortSetKey. */
import type { PortSetKey } from "@ptables/api";
import { checkInt, checkSetId } from "./field-checks";
import { PORT_FIXED_BITS, PORT_KEY } from "./layouts";

const F = PORT_KEY.fields;

function maskedPort(port: number, prefixLen: number): number {
  return prefixLen === 0 ? 0 : port & ((0xffff << (16 - prefixLen)) & 0xffff);
}

function validate(key: PortSetKey): void {
  const where = `port set ${key.setId} ${key.port}/${key.prefixLen}`;
  checkSetId(where, "setId", key.setId);
  checkInt(where, "port", key.port, 0, 65535);
  checkInt(where, "prefixLen", key.prefixLen, 0, 16);
}

export function encodePortKey(key: PortSetKey, out: Buffer, offset = 0): void {
  validate(key);
  out.fill(0, offset, offset + PORT_KEY.size);
  out.writeUInt32LE(PORT_FIXED_BITS + key.prefixLen, offset + F.prefixlen);
  out.writeUInt32BE(key.setId, offset + F.set_id_be);
  out.writeUInt16BE(maskedPort(key.port, key.prefixLen), offset + F.port_be);
}

export function decodePortKey(buf: Buffer, offset = 0): PortSetKey {
  return {
    setId: buf.readUInt32BE(offset + F.set_id_be),
    port: buf.readUInt16BE(offset + F.port_be),
    prefixLen: buf.readUInt32LE(offset + F.prefixlen) - PORT_FIXED_BITS,
  };
}

export function portKeyString(key: PortSetKey): string {
  const port = Number.isInteger(key.port) && Number.isInteger(key.prefixLen) ? maskedPort(key.port, key.prefixLen) : key.port;
  return `${key.setId}|${port}/${key.prefixLen}`;
}
