/**
 * A small toolkit for reading untrusted YAML into typed values. Every check names the path
 * of the offending value (`pods[2].ips[0]`), so a scenario author can find the problem without
 * a stack trace, and unknown keys are rejected so that a typo never silently changes meaning.
 */
import { ValidationError } from "@ptables/api";

/** A scenario that cannot be accepted. `path` is where (e.g. `pods[2].ips[0]`). */
export class ScenarioError extends ValidationError {
  constructor(path: string, reason: string, source?: string) {
    super(path, reason);
    if (source) this.message = `${source}: ${this.message}`;
  }
}

/** `parent.key`, or just `key` at the top level. */
export function keyPath(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

/** `parent[index]`. */
export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** A short rendering of a value for error messages: strings quoted, objects by kind. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return "a list";
  return "a mapping";
}

/** Throws a ScenarioError for `path`. */
export function fail(path: string, reason: string): never {
  throw new ScenarioError(path, reason);
}

/**
 * Reads a YAML mapping. Keys not in `allowed` are rejected, naming the closest allowed keys,
 * because a misspelt optional key would otherwise be ignored.
 */
export function readObject(value: unknown, path: string, allowed: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    fail(path || "scenario", `expected a mapping, got ${describe(value)}`);
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      fail(keyPath(path, key), `unknown key (expected one of: ${allowed.join(", ")})`);
    }
  }
  return obj;
}

/** Reads a YAML sequence; a missing value reads as an empty list. */
export function readList(value: unknown, path: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail(path, `expected a list, got ${describe(value)}`);
  return value;
}

/** Reads a required string; `what` describes the expected form in the message. */
export function readString(value: unknown, path: string, what = "a string"): string {
  if (typeof value !== "string") fail(path, `expected ${what}, got ${describe(value)}`);
  return value;
}

/** Reads an optional string. */
export function readOptionalString(value: unknown, path: string, what = "a string"): string | undefined {
  return value === undefined || value === null ? undefined : readString(value, path, what);
}

/** Reads an integer in [min, max]. */
export function readInteger(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(path, `expected an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

/** Reads a finite number (policy and tier orders may be fractional in Calico). */
export function readNumber(value: unknown, path: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) fail(path, `expected a number, got ${describe(value)}`);
  return value;
}

/** Reads one of a fixed set of words; the match is exact, as in the Calico API. */
export function readEnum<T extends string>(value: unknown, path: string, options: readonly T[]): T {
  if (typeof value !== "string" || !(options as readonly string[]).includes(value)) {
    fail(path, `expected one of ${options.join(", ")}, got ${describe(value)}`);
  }
  return value as T;
}

// Label keys must be usable in selectors, so they follow the selector tokenizer's character set
// (libcalico-go selector/tokenizer: [a-zA-Z0-9_./-]{1,512}).
const LABEL_KEY = /^[a-zA-Z0-9_./-]{1,512}$/;

/** Reads a label map. Values must be strings, as in Kubernetes (`version: 1` must be quoted). */
export function readLabels(value: unknown, path: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  const obj = readObject(value, path, Object.keys(value as object));
  const labels: Record<string, string> = {};
  for (const key of Object.keys(obj).sort()) {
    if (!LABEL_KEY.test(key)) fail(keyPath(path, key), "label keys may only use letters, digits and _ . / -");
    const v = obj[key];
    if (typeof v !== "string") fail(keyPath(path, key), `label values must be strings, got ${describe(v)} (quote it)`);
    labels[key] = v;
  }
  return labels;
}

/** Reads a map of scalar config values; numbers and booleans become their string form. */
export function readStringMap(value: unknown, path: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  const obj = readObject(value, path, Object.keys(value as object));
  const out: Record<string, string> = {};
  for (const key of Object.keys(obj).sort()) {
    const v = obj[key];
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
      fail(keyPath(path, key), `expected a string, number or boolean, got ${describe(v)}`);
    }
    out[key] = String(v);
  }
  return out;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)?$/;

/** Reads a duration: a number of milliseconds, or "200ms", "1.5s", "2m". */
export function readDurationMs(value: unknown, path: string): number {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return Math.round(value);
  const match = typeof value === "string" ? DURATION.exec(value.trim()) : null;
  if (!match) fail(path, `expected a duration such as 200ms, 1s or 1.5s, got ${describe(value)}`);
  const amount = Number(match[1]);
  const unit = match[2] ?? "ms";
  return Math.round(amount * (unit === "m" ? 60_000 : unit === "s" ? 1000 : 1));
}
