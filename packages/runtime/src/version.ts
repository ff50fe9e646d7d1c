/** The ptables version agents report in Info (the workspace packages share one version). */
import * as fs from "node:fs";
import * as path from "node:path";

let cached: string | undefined;

/** Reads the version from this package's package.json (one level above src/ and dist/). */
export function ptablesVersion(): string {
  if (cached !== undefined) return cached;
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8")) as { version?: unknown };
    cached = typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    cached = "unknown";
  }
  return cached;
}
