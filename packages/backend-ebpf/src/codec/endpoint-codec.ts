/** pt_endpoints values (struct pt_endpoint) <-> EndpointValue; keys are ifindexes (u32). */
import { ENDPOINT_HOOKS, NotSupportedError, canonicalEndpointValue, endpointValuesEqual, type EndpointHook, type EndpointValue } from "@ptables/api";
import { checkU32 } from "./field-checks";
import { ENDPOINT, PROG_REF } from "./layouts";

const F = ENDPOINT.fields;

/** Where each optional hook's struct pt_prog_ref sits. */
const HOOK_OFFSETS: Record<EndpointHook, number> = {
  untrackedIngress: F.untracked_ingress,
  untrackedEgress: F.untracked_egress,
  preDnatIngress: F.pre_dnat_ingress,
  forwardIngress: F.forward_ingress,
  forwardEgress: F.forward_egress,
  toHost: F.to_host,
};

/** Writes the value; `maxLength` caps the program lengths (the configured rules-per-program limit). */
export function encodeEndpoint(value: EndpointValue, out: Buffer, offset: number, where: string, maxLength: number): void {
  out.fill(0, offset, offset + ENDPOINT.size);
  out.writeUInt32LE(checkU32(where, "ingressProgram", value.ingressProgram), offset + F.ingress_prog);
  out.writeUInt32LE(checkU32(where, "egressProgram", value.egressProgram), offset + F.egress_prog);
  out.writeUInt32LE(checkU32(where, "flags", value.flags), offset + F.flags);
  out.writeUInt32LE(checkLength(where, "ingressLength", value.ingressLength, maxLength), offset + F.ingress_len);
  out.writeUInt32LE(checkLength(where, "egressLength", value.egressLength, maxLength), offset + F.egress_len);
  for (const hook of ENDPOINT_HOOKS) {
    const ref = value[hook];
    if (ref === undefined) continue;
    const at = offset + HOOK_OFFSETS[hook];
    out.writeUInt32LE(checkU32(where, `${hook}.program`, ref.program), at + PROG_REF.fields.prog);
    out.writeUInt32LE(checkLength(where, `${hook}.length`, ref.length, maxLength), at + PROG_REF.fields.len);
  }
}

function checkLength(where: string, field: string, value: number, maxLength: number): number {
  const n = checkU32(where, field, value);
  if (n > maxLength) {
    throw new NotSupportedError("rules per program", `${where}: ${field} ${n} exceeds the limit of ${maxLength}`);
  }
  return n;
}

/** The value in canonical form: hooks that are {0, 0} are absent. */
export function decodeEndpoint(buf: Buffer, offset = 0): EndpointValue {
  const value: EndpointValue = {
    ingressProgram: buf.readUInt32LE(offset + F.ingress_prog),
    egressProgram: buf.readUInt32LE(offset + F.egress_prog),
    flags: buf.readUInt32LE(offset + F.flags),
    ingressLength: buf.readUInt32LE(offset + F.ingress_len),
    egressLength: buf.readUInt32LE(offset + F.egress_len),
  };
  for (const hook of ENDPOINT_HOOKS) {
    const at = offset + HOOK_OFFSETS[hook];
    value[hook] = { program: buf.readUInt32LE(at + PROG_REF.fields.prog), length: buf.readUInt32LE(at + PROG_REF.fields.len) };
  }
  return canonicalEndpointValue(value);
}

export function endpointEquals(a: EndpointValue, b: EndpointValue): boolean {
  return endpointValuesEqual(a, b);
}
