/** The set-member (pt_members) and port-set (pt_ports) tables: presence-only LPM tries. */
import type { PortSetKey, Present, SetMemberKey, TableBackend } from "@ptables/api";
import { decodeMemberKey, encodeMemberKey, memberKeyString } from "../codec/member-key-codec";
import { decodePortKey, encodePortKey, portKeyString } from "../codec/port-key-codec";
import type { BpfMap } from "../native/bpf-map";
import { MapTable, encodePresent } from "./map-table";

export function createSetMembersTable(map: () => BpfMap): TableBackend<SetMemberKey, Present> {
  return new MapTable<SetMemberKey, Present>("setMembers", map, {
    keyString: memberKeyString,
    valueEquals: () => true,
    encodeKey: encodeMemberKey,
    encodeValue: (_key, _value, out, offset) => encodePresent(out, offset),
    decode: (key) => [decodeMemberKey(key), true],
  });
}

export function createPortSetsTable(map: () => BpfMap): TableBackend<PortSetKey, Present> {
  return new MapTable<PortSetKey, Present>("portSets", map, {
    keyString: portKeyString,
    valueEquals: () => true,
    encodeKey: encodePortKey,
    encodeValue: (_key, _value, out, offset) => encodePresent(out, offset),
    decode: (key) => [decodePortKey(key), true],
  });
}
