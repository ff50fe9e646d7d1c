/**
 * iproute2 for the route and neighbour tables: reads with `ip -j`, writes with one
 * `ip -force -batch -` per table batch (commands on stdin, one per line; never a shell).
 * Everything ptables writes carries ROUTE_PROTO, which is how it finds its own entries again.
 */
import { execFile, spawn } from "node:child_process";
import { PtablesError } from "@ptables/api";

/** rtnetlink protocol of every route and neighbour ptables creates (0x50, unassigned in rt_protos). */
export const ROUTE_PROTO = 0x50;

/** Runs `ip <args>` and parses its JSON output. */
export function ipJson<T>(args: string[]): Promise<T[]> {
  return new Promise((resolve, reject) => {
    execFile("ip", ["-j", ...args], { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new PtablesError(`ip ${args.join(" ")}: ${stderr.trim() || err.message}`));
        return;
      }
      const text = stdout.trim();
      try {
        resolve(text === "" ? [] : (JSON.parse(text) as T[]));
      } catch (parseErr) {
        reject(new PtablesError(`ip ${args.join(" ")}: unreadable output (${String(parseErr)})`));
      }
    });
  });
}

/**
 * Runs `commands` through `ip -force -batch -`; returns the error message of each failed
 * command by its position in `commands`. Throws only if ip itself cannot run.
 */
export function ipBatch(commands: string[]): Promise<Map<number, string>> {
  if (commands.length === 0) return Promise.resolve(new Map());
  return new Promise((resolve, reject) => {
    const child = spawn("ip", ["-force", "-batch", "-"], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => (stderr += chunk));
    child.on("error", (err) => reject(new PtablesError(`ip -batch: ${err.message}`)));
    child.on("close", () => resolve(parseBatchErrors(stderr)));
    child.stdin.on("error", () => undefined); // ip exiting early is reported through stderr
    child.stdin.end(`${commands.join("\n")}\n`);
  });
}

/** "Error: ...\nCommand failed -:3" -> {2: "Error: ..."} (lines are 1-based, the map 0-based). */
export function parseBatchErrors(stderr: string): Map<number, string> {
  const failures = new Map<number, string>();
  let pending: string[] = [];
  for (const line of stderr.split("\n")) {
    const failed = /^Command failed -:(\d+)$/.exec(line.trim());
    if (failed) {
      failures.set(Number(failed[1]) - 1, pending.join(" ").trim() || "failed");
      pending = [];
    } else if (line.trim() !== "") {
      pending.push(line.trim());
    }
  }
  return failures;
}
