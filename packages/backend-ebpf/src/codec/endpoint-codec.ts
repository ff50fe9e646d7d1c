/** pt_endpoints values (struct pt_endpoint) <-> EndpointValue; keys are ifindexes (u32). */
import { NotSupportedError, type EndpointValue } from "@ptables/api";
import { checkU32 } from "./field-checks";
import { ENDPOINT } from "./layouts";

const F = ENDPOINT.fields;

/** Writes the value; `maxLength` caps the program lengths (the configured rules-per-program limit). */
export function encodeEndpoint(value: EndpointValue, out: Buffer, offset: number, where: string, maxLength: number): void {
  out.writeUInt32LE(checkU32(where, "ingressProgram", value.ingressProgram), offset + F.ingress_prog);
  out.writeUInt32LE(checkU32(where, "egressProgram", value.egressProgram), offset + F.egress_prog);
  out.writeUInt32LE(checkU32(where, "flags", value.flags), offset + F.flags);
  out.writeUInt32LE(checkLength(where, "ingressLength", value.ingressLength, maxLength), offset + F.ingress_len);
  out.writeUInt32LE(checkLength(where, "egressLength", value.egressLength, maxLength), offset + F.egress_len);
}

function checkLength(where: string, field: string, value: number, maxLength: number): number {
  const n = checkU32(where, field, value);
  if (n > maxLength) {
    throw new NotSupportedError("rules per program", `${where}: ${field} ${n} exceeds the limit of ${maxLength}`);
  }
  return n;
}

export function decodeEndpoint(buf: Buffer, offset = 0): EndpointValue {
  return {
    ingressProgram: buf.readUInt32LE(offset + F.ingress_prog),
    egressProgram: buf.readUInt32LE(offset + F.egress_prog),
    flags: buf.readUInt32LE(offset + F.flags),
    ingressLength: buf.readUInt32LE(offset + F.ingress_len),
    egressLength: buf.readUInt32LE(offset + F.egress_len),
  };
}

export function endpointEquals(a: EndpointValue, b: EndpointValue): boolean {
  return (
    a.ingressProgram === b.ingressProgram &&
    a.egressProgram === b.egressProgram &&
    a.flags === b.flags &&
    a.ingressLength === b.ingressLength &&
    a.egressLength === b.egressLength
  );
}
