/**
 * pt_config[0]: the gateway the ARP responder answers for, the VXLAN port, and the conntrack
 * timeouts. Several agents change different parts of it (the ARP responder the gateway, the
 * programmer the timeouts), so every change is a read-modify-write of the whole value.
 */
import { CONFIG } from "./codec/layouts";
import { DEFAULT_DATAPATH_CONFIG, decodeConfig, encodeConfig, isUnsetConfig, type DatapathConfig } from "./codec/config-codec";
import type { BpfMap } from "./native/bpf-map";

const KEY = Buffer.alloc(4); // index 0

export class DatapathConfigStore {
  constructor(private readonly map: () => BpfMap) {}

  /** The current configuration (the defaults if nothing was ever written). */
  get(): DatapathConfig {
    const buf = Buffer.alloc(CONFIG.size);
    this.map().lookup(KEY, buf);
    return isUnsetConfig(buf) ? structuredClone(DEFAULT_DATAPATH_CONFIG) as DatapathConfig : decodeConfig(buf);
  }

  /** Applies `change` to the current configuration and writes the result; returns it. */
  update(change: (current: DatapathConfig) => DatapathConfig): DatapathConfig {
    const next = change(this.get());
    const buf = Buffer.alloc(CONFIG.size);
    encodeConfig(next, buf); // validates before anything is written
    this.map().update(KEY, buf);
    return next;
  }

  /** Writes the defaults if the map was never written (a fresh datapath). */
  initialise(): void {
    const buf = Buffer.alloc(CONFIG.size);
    this.map().lookup(KEY, buf);
    if (isUnsetConfig(buf)) this.update(() => structuredClone(DEFAULT_DATAPATH_CONFIG) as DatapathConfig);
  }
}
