/**
 * The owner's open: load build/ptables.bpf.o with every map pinned under the bpf directory.
 * Maps already pinned there (an earlier run) are reused as they are, contents included, which
 * is what keeps traffic flowing across restarts; libbpf does the reuse once each map's pin path
 * is set. Before loading, every existing pin is checked against the object so an incompatible
 * upgrade fails with a clear message instead of libbpf's generic one. Programs are pinned too;
 * a pinned program with the same tag is reused, so an unchanged datapath keeps the very program
 * its filters already run.
 */
import { existsSync, renameSync, unlinkSync } from "node:fs";
import { PtablesError } from "@ptables/api";
import { BpfError, check } from "../native/bpf-error";
import { BpfMap, mapInfo } from "../native/bpf-map";
import { ensureBpfDir, removeBpfDir } from "../native/bpffs";
import { lastErrno, libBpf, libC, type CPointer } from "../native/native-libs";
import { clearLibbpfLog, recentLibbpfLog } from "../native/libbpf-log";
import { Datapath, type DatapathMaps, type DatapathPrograms, type ProgramHandle } from "./datapath";
import { MAP_SPECS, PROGRAM_NAMES, pinPath, type MapRole, type MapSizes } from "./names";
import { programInfo } from "./program-info";

export interface LoadOptions {
  bpfDir: string;
  objectPath: string;
  sizes: MapSizes;
}

/** Sets pin paths and sizes; returns the names of maps that were not pinned yet. */
function prepareMaps(obj: CPointer, options: LoadOptions, notes: string[]): Set<string> {
  const lib = libBpf();
  const fresh = new Set<string>();
  const problems: string[] = [];
  for (const spec of Object.values(MAP_SPECS)) {
    const map = lib.bpf_object__find_map_by_name(obj, spec.name);
    if (map === null) throw new PtablesError(`load ${options.objectPath}: the object has no map ${spec.name}`);
    const path = pinPath(options.bpfDir, spec.name);
    const wanted = "size" in spec ? options.sizes[spec.size] : lib.bpf_map__max_entries(map);
    if (existsSync(path)) {
      const fd = check(lib.bpf_obj_get(path), `open pinned ${path}`);
      try {
        const pinned = mapInfo(fd, path);
        const ours = {
          type: lib.bpf_map__type(map),
          keySize: lib.bpf_map__key_size(map),
          valueSize: lib.bpf_map__value_size(map),
          flags: lib.bpf_map__map_flags(map),
        };
        if (pinned.type !== ours.type || pinned.keySize !== ours.keySize || pinned.valueSize !== ours.valueSize || pinned.flags !== ours.flags) {
          problems.push(
            `${spec.name} is pinned as type ${pinned.type} key ${pinned.keySize} value ${pinned.valueSize} flags ${pinned.flags}, ` +
              `this object needs type ${ours.type} key ${ours.keySize} value ${ours.valueSize} flags ${ours.flags}`,
          );
        } else {
          // Resizing would mean a new, empty map: keep the pinned one and its contents.
          if (pinned.maxEntries !== wanted) notes.push(`${spec.name}: keeping the pinned map's ${pinned.maxEntries} entries (configured ${wanted})`);
          check(lib.bpf_map__set_max_entries(map, pinned.maxEntries), `size ${spec.name}`);
        }
      } finally {
        libC().close(fd);
      }
    } else {
      fresh.add(spec.name);
      check(lib.bpf_map__set_max_entries(map, wanted), `size ${spec.name}`);
    }
    check(lib.bpf_map__set_pin_path(map, path), `set pin path of ${spec.name}`);
  }
  if (problems.length > 0) {
    throw new PtablesError(
      `load ${options.objectPath}: pinned maps in ${options.bpfDir} are incompatible with this datapath (${problems.join("; ")}); ` +
        "remove them with `ptables cleanup` (this drops all datapath state) or run the matching ptables version",
    );
  }
  return fresh;
}

/**
 * Pins a freshly loaded program, or adopts the pinned one when its instructions are the same.
 * Records in `created` a pin that did not exist before.
 */
function pinProgram(obj: CPointer, bpfDir: string, name: string, extraFds: number[], created: string[]): ProgramHandle {
  const lib = libBpf();
  const prog = lib.bpf_object__find_program_by_name(obj, name);
  if (prog === null) throw new PtablesError(`load: the object has no program ${name}`);
  const fd = check(lib.bpf_program__fd(prog), `fd of ${name}`);
  const loaded = programInfo(fd, name);
  const path = pinPath(bpfDir, name);
  if (existsSync(path)) {
    const pinnedFd = lib.bpf_obj_get(path);
    if (pinnedFd >= 0) {
      const pinned = programInfo(pinnedFd, path);
      if (pinned.tag === loaded.tag) {
        extraFds.push(pinnedFd);
        return { name, fd: pinnedFd, ...pinned };
      }
      libC().close(pinnedFd);
    }
  }
  // Pin under a temporary name and rename over the old pin: the pin is never missing.
  const tmp = `${path}_new`; // bpffs refuses "." in pin names
  if (existsSync(tmp)) unlinkSync(tmp);
  if (!existsSync(path)) created.push(path);
  check(lib.bpf_obj_pin(fd, tmp), `pin ${name} at ${tmp}`);
  renameSync(tmp, path);
  return { name, fd, ...loaded };
}

/**
 * Loads the datapath as its owner. On failure nothing new is left behind: maps and program pins
 * this call created are removed, and so is the directory if it did not exist before.
 */
export function loadDatapath(options: LoadOptions): Datapath {
  const dirExisted = existsSync(options.bpfDir);
  ensureBpfDir(options.bpfDir);
  const lib = libBpf();
  const obj = lib.bpf_object__open_file(options.objectPath, null);
  if (obj === null) {
    const err = new BpfError(`open ${options.objectPath}`, lastErrno());
    if (!dirExisted) removeBpfDir(options.bpfDir);
    throw err;
  }
  const notes: string[] = [];
  const extraFds: number[] = [];
  const createdPins: string[] = [];
  let fresh = new Set<string>();
  try {
    fresh = prepareMaps(obj, options, notes);
    clearLibbpfLog();
    const loaded = lib.bpf_object__load(obj);
    if (loaded < 0) throw new BpfError(`load ${options.objectPath}`, -loaded, recentLibbpfLog().join("\n"));
    const programs: DatapathPrograms = {
      fromEp: pinProgram(obj, options.bpfDir, PROGRAM_NAMES.fromEp, extraFds, createdPins),
      toEp: pinProgram(obj, options.bpfDir, PROGRAM_NAMES.toEp, extraFds, createdPins),
      fromHost: pinProgram(obj, options.bpfDir, PROGRAM_NAMES.fromHost, extraFds, createdPins),
      toHost: pinProgram(obj, options.bpfDir, PROGRAM_NAMES.toHost, extraFds, createdPins),
    };
    const maps = {} as DatapathMaps;
    for (const [role, spec] of Object.entries(MAP_SPECS) as Array<[MapRole, (typeof MAP_SPECS)[MapRole]]>) {
      const map = lib.bpf_object__find_map_by_name(obj, spec.name);
      const fd = check(lib.bpf_map__fd(map), `fd of ${spec.name}`);
      maps[role] = new BpfMap(spec.name, fd, mapInfo(fd, spec.name), false);
    }
    return new Datapath(options.bpfDir, maps, programs, obj, extraFds, notes);
  } catch (err) {
    for (const fd of extraFds) libC().close(fd);
    lib.bpf_object__close(obj);
    for (const path of [...[...fresh].map((name) => pinPath(options.bpfDir, name)), ...createdPins]) {
      if (existsSync(path)) unlinkSync(path);
    }
    if (!dirExisted) removeBpfDir(options.bpfDir);
    throw err;
  }
}
