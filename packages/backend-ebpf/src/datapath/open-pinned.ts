/**
 * A reader's open: the offload daemon and the ARP responder use the owner's pinned maps
 * (bpf_obj_get) and never load or attach programs. The owner must have run first.
 */
import { existsSync } from "node:fs";
import { PtablesError } from "@ptables/api";
import { check } from "../native/bpf-error";
import { BpfMap, mapInfo } from "../native/bpf-map";
import { libBpf } from "../native/native-libs";
import { Datapath, type DatapathMaps } from "./datapath";
import { MAP_SPECS, pinPath, type MapRole } from "./names";

export function openPinnedDatapath(bpfDir: string): Datapath {
  const maps: Partial<DatapathMaps> = {};
  try {
    for (const [role, spec] of Object.entries(MAP_SPECS) as Array<[MapRole, (typeof MAP_SPECS)[MapRole]]>) {
      const path = pinPath(bpfDir, spec.name);
      if (!existsSync(path)) {
        throw new PtablesError(`open ${path}: no such pinned map; the policy programmer (the datapath's owner) has not loaded the datapath in ${bpfDir} yet`);
      }
      const fd = check(libBpf().bpf_obj_get(path), `open pinned ${path}`);
      const map = new BpfMap(spec.name, fd, mapInfo(fd, path), true);
      maps[role] = map;
      if (map.info.keySize !== spec.keySize || map.info.valueSize !== spec.valueSize) {
        throw new PtablesError(
          `open ${path}: key/value sizes ${map.info.keySize}/${map.info.valueSize} differ from this version's ${spec.keySize}/${spec.valueSize}`,
        );
      }
    }
  } catch (err) {
    for (const map of Object.values(maps)) map.close();
    throw err;
  }
  return new Datapath(bpfDir, maps as DatapathMaps, undefined, null, [], []);
}
