/**
 * Encodes plain JS objects (snake_case field names, as in the schema) into Felix's protobuf
 * bytes, driven only by the JSON schema. It reproduces the field orders real Felix releases
 * write, so tests can feed ptables exactly what Felix would.
 */
import { loadFelixSchema, type FelixSchema, type FieldSpec, type MessageSpec } from "./schema";
import { WIRE_FIXED64, WIRE_VARINT, concat, double, lengthDelimited, tag, varint } from "./wire-writer";

/**
 * Field order on the wire:
 * - "go": Felix >= v3.30 (google.golang.org/protobuf): plain fields by number, then the set
 *   member of each oneof, oneofs in declaration order (ToDataplane: sequence_number first).
 * - "gogo": Felix <= v3.29 (gogo marshalers): by number, each oneof at the place of its
 *   lowest-numbered member (ToDataplane: payload first, then sequence_number).
 * - "field-number": strictly by number, as protoc's C++ encoder writes.
 */
export type FelixFieldOrder = "go" | "gogo" | "field-number";

export interface FelixEncodeOptions {
  order?: FelixFieldOrder;
  /**
   * Use the v3.32 definitions of payloads that changed (host_metadata_update as the v4-only
   * message). The v3.32-only payloads (host_metadata_v6_update and the rest on 35-38) can
   * always be encoded.
   */
  legacy?: boolean;
  schema?: FelixSchema;
}

type Plain = Record<string, unknown>;

const INTEGER_RANGES: Record<string, [bigint, bigint]> = {
  int32: [-(1n << 31n), (1n << 31n) - 1n],
  uint32: [0n, (1n << 32n) - 1n],
  int64: [-(1n << 63n), (1n << 63n) - 1n],
  uint64: [0n, (1n << 64n) - 1n],
};

/** Protobuf bytes of `typeName` (e.g. "ToDataplane", "IPSetUpdate") built from `obj`. */
export function encodeFelixMessage(typeName: string, obj: Plain, options: FelixEncodeOptions = {}): Uint8Array {
  const schema = options.schema ?? loadFelixSchema();
  const order = options.order ?? "go";
  const legacy = options.legacy ?? false;
  const key = `${order}/${legacy}`;
  let encoders = ENCODERS.get(schema);
  if (!encoders) ENCODERS.set(schema, (encoders = new Map()));
  let encoder = encoders.get(key);
  if (!encoder) encoders.set(key, (encoder = new Encoder(schema, order, legacy)));
  return encoder.message(typeName, obj, typeName);
}

/** The message with Felix's 8-byte little-endian length prefix. */
export function encodeFelixFrame(typeName: string, obj: Plain, options: FelixEncodeOptions = {}): Uint8Array {
  const body = encodeFelixMessage(typeName, obj, options);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(body.length), true);
  return concat([prefix, body]);
}

const UTF8 = new TextEncoder();

/** Encoders (with their per-type field caches) by schema and options. */
const ENCODERS = new WeakMap<FelixSchema, Map<string, Encoder>>();

class Encoder {
  constructor(
    private readonly schema: FelixSchema,
    private readonly order: FelixFieldOrder,
    private readonly legacy: boolean,
  ) {}

  message(typeName: string, obj: Plain, path: string): Uint8Array {
    if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw new Error(`${path}: expected an object for ${typeName}`);
    const { fields, byName } = this.fieldsOf(typeName);
    for (const name of Object.keys(obj)) {
      if (!byName.has(name)) throw new Error(`${path}: ${typeName} has no field "${name}"`);
    }
    const present = fields.filter((f) => obj[f.name] !== undefined && obj[f.name] !== null);
    const oneofSeen = new Map<string, string>();
    for (const f of present) {
      if (f.oneof === null) continue;
      const other = oneofSeen.get(f.oneof);
      if (other !== undefined) throw new Error(`${path}: ${other} and ${f.name} are both set in oneof ${f.oneof}`);
      oneofSeen.set(f.oneof, f.name);
    }
    return concat(this.ordered(fields, present).map((f) => this.field(f, obj[f.name], `${path}.${f.name}`)));
  }

  private readonly fieldCache = new Map<string, { fields: FieldSpec[]; byName: Map<string, FieldSpec> }>();

  private fieldsOf(typeName: string): { fields: FieldSpec[]; byName: Map<string, FieldSpec> } {
    const cached = this.fieldCache.get(typeName);
    if (cached) return cached;
    const spec: MessageSpec | undefined = this.schema.messages.get(typeName);
    if (!spec) throw new Error(`felix schema has no message ${typeName}`);
    const fields = [...spec.fields];
    if (typeName === "ToDataplane") {
      for (const legacy of this.schema.legacyPayloads) {
        const at = fields.findIndex((f) => f.name === legacy.name);
        if (at < 0) fields.push(legacy);
        else if (this.legacy) fields[at] = legacy;
      }
    }
    const entry = { fields, byName: new Map(fields.map((f) => [f.name, f])) };
    this.fieldCache.set(typeName, entry);
    return entry;
  }

  private ordered(all: readonly FieldSpec[], present: readonly FieldSpec[]): FieldSpec[] {
    const byNumber = (a: FieldSpec, b: FieldSpec): number => a.number - b.number;
    if (this.order === "field-number") return [...present].sort(byNumber);
    if (this.order === "go") {
      const oneofOrder = [...new Set(all.filter((f) => f.oneof !== null).map((f) => f.oneof))];
      const plain = present.filter((f) => f.oneof === null).sort(byNumber);
      const members = oneofOrder.flatMap((o) => present.filter((f) => f.oneof === o));
      return [...plain, ...members];
    }
    // gogo: a oneof sorts at its lowest member number.
    const position = (f: FieldSpec): number =>
      f.oneof === null ? f.number : Math.min(...all.filter((g) => g.oneof === f.oneof).map((g) => g.number));
    return [...present].sort((a, b) => position(a) - position(b) || a.number - b.number);
  }

  private field(f: FieldSpec, value: unknown, path: string): Uint8Array {
    if (f.type === "map") return this.map(f, value, path);
    if (f.label === "repeated") {
      if (!Array.isArray(value)) throw new Error(`${path}: expected an array`);
      if (isPackable(f.type, this.schema)) {
        if (value.length === 0) return new Uint8Array(0);
        return lengthDelimited(f.number, concat(value.map((v, i) => this.scalarBody(f.type, v, `${path}[${i}]`))));
      }
      return concat(value.map((v, i) => this.single(f.number, f.type, v, `${path}[${i}]`, true)));
    }
    return this.single(f.number, f.type, value, path, f.oneof !== null);
  }

  private map(f: FieldSpec, value: unknown, path: string): Uint8Array {
    if (!f.map) throw new Error(`${path}: map field without key/value types in the schema`);
    const entries = value instanceof Map ? [...value.entries()] : Object.entries(value as Plain);
    return concat(
      entries.map(([k, v]) => {
        const keyValue = f.map!.key === "string" ? String(k) : k;
        // Go writes both key and value of every map entry, zero or not.
        const body = concat([
          this.single(1, f.map!.key, keyValue, `${path}[${String(k)}] key`, true),
          this.single(2, f.map!.value, v, `${path}[${String(k)}]`, true),
        ]);
        return lengthDelimited(f.number, body);
      }),
    );
  }

  /** One field occurrence; `always` writes zero values too (oneof members, repeated, map entries). */
  private single(number: number, type: string, value: unknown, path: string, always: boolean): Uint8Array {
    if (this.schema.messages.has(type)) return lengthDelimited(number, this.message(type, value as Plain, path));
    if (type === "string") {
      if (typeof value !== "string") throw new Error(`${path}: expected a string`);
      if (value === "" && !always) return new Uint8Array(0);
      return lengthDelimited(number, UTF8.encode(value));
    }
    const body = this.scalarBody(type, value, path);
    if (!always && body.every((b) => b === 0)) return new Uint8Array(0);
    return concat([tag(number, type === "double" ? WIRE_FIXED64 : WIRE_VARINT), body]);
  }

  /** The bytes of a varint or fixed64 scalar, without its tag. */
  private scalarBody(type: string, value: unknown, path: string): Uint8Array {
    if (type === "double") {
      if (typeof value !== "number") throw new Error(`${path}: expected a number`);
      return double(value);
    }
    if (type === "bool") {
      if (typeof value !== "boolean") throw new Error(`${path}: expected a boolean`);
      return varint(value ? 1n : 0n);
    }
    const enumValues = this.schema.enums.get(type);
    if (enumValues) {
      const number = typeof value === "string" ? enumValues[value] : value;
      if (typeof number !== "number" || !Number.isInteger(number)) throw new Error(`${path}: ${String(value)} is not a ${type}`);
      return varint(BigInt.asUintN(64, BigInt(number)));
    }
    const range = INTEGER_RANGES[type];
    if (!range) throw new Error(`${path}: unknown type ${type}`);
    const n = toBigInt(value, path);
    if (n < range[0] || n > range[1]) throw new Error(`${path}: ${n} is out of range for ${type}`);
    // Negative int32/int64 go on the wire as 64-bit two's complement (ten bytes).
    return varint(BigInt.asUintN(64, n));
  }
}

function toBigInt(value: unknown, path: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^-?[0-9]+$/.test(value)) return BigInt(value);
  throw new Error(`${path}: ${String(value)} is not an integer`);
}

function isPackable(type: string, schema: FelixSchema): boolean {
  return type in INTEGER_RANGES || type === "bool" || type === "double" || schema.enums.has(type);
}
