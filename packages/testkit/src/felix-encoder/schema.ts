/**
 * Felix's protobuf schema as plain data, read from testdata/felix-schema.json (a copy of the
 * hand-checked reference schema). The encoder works from this alone, never from the generated
 * code, so the two can check each other.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface FieldSpec {
  name: string;
  number: number;
  /** A scalar name, a message or enum name ("Outer.Inner" when nested), or "map". */
  type: string;
  label: "optional" | "repeated";
  oneof: string | null;
  map: { key: string; value: string } | null;
}

export interface MessageSpec {
  name: string;
  fields: FieldSpec[];
}

export interface FelixSchema {
  messages: ReadonlyMap<string, MessageSpec>;
  enums: ReadonlyMap<string, Readonly<Record<string, number>>>;
  /**
   * ToDataplane payloads of older Felix releases (v3.32 host metadata on 14 and 35-38), as
   * payload fields whose types are messages named "_legacy.<field name>".
   */
  legacyPayloads: readonly FieldSpec[];
}

/** testdata/ sits beside src/ and dist/, so this path works from sources and from the build. */
export const DEFAULT_SCHEMA_PATH = join(__dirname, "..", "..", "testdata", "felix-schema.json");

interface RawSchema {
  messages: Record<string, { fields: FieldSpec[] }>;
  enums: Record<string, Record<string, number>>;
  _legacy?: { toDataplanePayloads?: Array<{ name: string; number: number; fields: FieldSpec[] }> };
}

const cache = new Map<string, FelixSchema>();

/** Loads (once per path) and indexes the schema. */
export function loadFelixSchema(path: string = DEFAULT_SCHEMA_PATH): FelixSchema {
  const cached = cache.get(path);
  if (cached) return cached;
  const raw = JSON.parse(readFileSync(path, "utf8")) as RawSchema;
  if (!raw.messages || !raw.enums) throw new Error(`felix schema ${path}: expected "messages" and "enums"`);
  const messages = new Map<string, MessageSpec>();
  for (const [name, spec] of Object.entries(raw.messages)) messages.set(name, { name, fields: spec.fields });
  const legacyPayloads: FieldSpec[] = [];
  for (const payload of raw._legacy?.toDataplanePayloads ?? []) {
    const type = `_legacy.${payload.name}`;
    messages.set(type, { name: type, fields: payload.fields });
    legacyPayloads.push({ name: payload.name, number: payload.number, type, label: "optional", oneof: "payload", map: null });
  }
  const schema: FelixSchema = { messages, enums: new Map(Object.entries(raw.enums)), legacyPayloads };
  cache.set(path, schema);
  return schema;
}
