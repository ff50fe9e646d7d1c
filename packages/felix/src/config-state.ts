/**
 * The configuration as of Felix's last ConfigUpdate, and which parameters were unusable.
 * Each ConfigUpdate carries Felix's whole explicitly-set config, so it replaces the previous
 * one; a parameter reported bad before and fine now is reported cleared.
 */
import { defaultDataplaneConfig } from "@ptables/api";
import type { DataplaneConfig } from "@ptables/api";
import { sync, type felix } from "@ptables/proto";
import { configFromFelix, defaultFelixSettings, type FelixSettings } from "./felix-config";
import type { ApplyOutput, ObjectError } from "./object-kinds";

export class ConfigState {
  config: DataplaneConfig = defaultDataplaneConfig();
  settings: FelixSettings = defaultFelixSettings();
  private problems = new Map<string, string>();

  apply(update: felix.ConfigUpdate, out: ApplyOutput): void {
    const { config, settings, problems } = configFromFelix(update.config);
    // Service nets come from other payloads (setServiceNets), not from ConfigUpdate.
    config.serviceNets = this.config.serviceNets;
    this.settings = settings;
    const current = new Map(problems.map((p) => [p.key, p.reason]));
    for (const key of this.problems.keys()) {
      if (!current.has(key)) out.cleared.push(configRef(key));
    }
    for (const [key, reason] of current) out.errors.push({ ...configRef(key), reason });
    this.problems = current;
    if (JSON.stringify(config) === JSON.stringify(this.config)) return;
    this.config = config;
    out.changes.push({ change: { $case: "config", value: config } });
  }

  /** Replaces the Service destinations (service-nets.ts); a change is a config change. */
  setServiceNets(nets: string[], out: ApplyOutput): void {
    if (JSON.stringify(nets) === JSON.stringify(this.config.serviceNets)) return;
    this.config = { ...this.config, serviceNets: nets };
    out.changes.push({ change: { $case: "config", value: this.config } });
  }

  /** Parameters currently unusable, as errors of kind UNSPECIFIED with id "config:<key>". */
  errors(): ObjectError[] {
    return [...this.problems].map(([key, reason]) => ({ ...configRef(key), reason }));
  }

  reset(): void {
    this.config = defaultDataplaneConfig();
    this.settings = defaultFelixSettings();
    this.problems.clear();
  }
}

function configRef(key: string): { kind: sync.ObjectKind; id: string } {
  return { kind: sync.ObjectKind.OBJECT_KIND_UNSPECIFIED, id: `config:${key}` };
}
