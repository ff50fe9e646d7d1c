/**
 * An opened datapath: the pinned maps (and, for the owner, the loaded programs). Owners get it
 * from loadDatapath(), every other process from openPinnedDatapath(); both see the same maps.
 */
import { BpfMap } from "../native/bpf-map";
import type { CPointer } from "../native/native-libs";
import { libBpf, libC } from "../native/native-libs";
import type { MapRole } from "./names";

export type DatapathMaps = Record<MapRole, BpfMap>;

/** A loaded tc program. */
export interface ProgramHandle {
  name: string;
  fd: number;
  /** Kernel program id; a filter running this program reports the same id. */
  id: number;
  /** The program's tag (hash of its instructions), as hex. */
  tag: string;
}

export interface DatapathPrograms {
  /** Runs at tc ingress of an endpoint's interface: traffic from the endpoint. */
  fromEp: ProgramHandle;
  /** Runs at tc egress: traffic to the endpoint. */
  toEp: ProgramHandle;
  /** Runs at tc ingress of a host interface (host endpoint or watched interface). */
  fromHost: ProgramHandle;
  /** Runs at tc egress of a host interface. */
  toHost: ProgramHandle;
}

export class Datapath {
  private closed = false;

  constructor(
    readonly bpfDir: string,
    readonly maps: DatapathMaps,
    /** Present for the owner only. */
    readonly programs: DatapathPrograms | undefined,
    /** The libbpf object owning the maps' and programs' fds (owner), or null. */
    private readonly object: CPointer,
    /** Extra fds to close (pinned programs reused from an earlier load). */
    private readonly extraFds: number[],
    /** Things worth logging that happened while opening (e.g. adopted map sizes). */
    readonly notes: string[],
  ) {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const map of Object.values(this.maps)) map.close();
    for (const fd of this.extraFds) libC().close(fd);
    if (this.object !== null) libBpf().bpf_object__close(this.object);
  }
}
