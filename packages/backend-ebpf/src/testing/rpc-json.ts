/** JSON for the agent protocol, with bigint and Map kept intact. */

export function toWire(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return { $bigint: v.toString() };
    if (v instanceof Map) return { $map: [...v.entries()] };
    return v;
  });
}

export function fromWire(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v && typeof v === "object" && "$bigint" in v) return BigInt((v as { $bigint: string }).$bigint);
    if (v && typeof v === "object" && "$map" in v) return new Map((v as { $map: Array<[unknown, unknown]> }).$map);
    return v;
  });
}
