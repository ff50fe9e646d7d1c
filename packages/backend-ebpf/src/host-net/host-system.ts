/**
 * What the host-network tables need from the machine: run a command (argv, optional stdin;
 * never a shell) and read or write a /proc/sys file. The real implementation acts on the
 * network namespace the process runs in; tests substitute a fake that records what was asked.
 */
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { PtablesError } from "@ptables/api";
import { parseBatchErrors } from "../tables/ip-command";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface HostSystem {
  /** Runs argv[0] with the rest; resolves with its exit code and output (rejects only if it cannot start). */
  run(argv: readonly string[], input?: string): Promise<CommandResult>;
  /** Reads a file; undefined if it does not exist. */
  readFile(path: string): Promise<string | undefined>;
  writeFile(path: string, value: string): Promise<void>;
}

/** The machine itself: child processes and the filesystem of this process's namespaces. */
export const localHostSystem: HostSystem = {
  run(argv, input) {
    const [file, ...args] = argv;
    if (file === undefined) return Promise.reject(new PtablesError("run: empty argv"));
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8");
      child.stderr.setEncoding("utf8");
      child.stdout.on("data", (chunk: string) => (stdout += chunk));
      child.stderr.on("data", (chunk: string) => (stderr += chunk));
      child.on("error", (err) => reject(new PtablesError(`${file}: ${err.message}`)));
      child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
      child.stdin.on("error", () => undefined); // a command exiting early reports through stderr
      child.stdin.end(input ?? "");
    });
  },
  async readFile(path) {
    try {
      return await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  },
  async writeFile(path, value) {
    await writeFile(path, value);
  },
};

/** Runs a command and returns its stdout; a non-zero exit throws with the command and its stderr. */
export async function runOk(sys: HostSystem, argv: readonly string[], input?: string): Promise<string> {
  const r = await sys.run(argv, input);
  if (r.code !== 0) throw new PtablesError(`${argv.join(" ")}: ${r.stderr.trim() || `exit ${r.code}`}`);
  return r.stdout;
}

/** Runs a command that prints JSON (`ip -j`, `bridge -j`, `nft -j`) and parses it. */
export async function runJson<T>(sys: HostSystem, argv: readonly string[]): Promise<T> {
  const text = (await runOk(sys, argv)).trim();
  try {
    return (text === "" ? [] : JSON.parse(text)) as T;
  } catch (err) {
    throw new PtablesError(`${argv.join(" ")}: unreadable output (${String(err)})`);
  }
}

/**
 * `<tool> -force -batch -` with one command per line (ip or bridge); returns the error message
 * of each failed line by its position. Throws only if the tool cannot run.
 */
export async function runBatch(sys: HostSystem, tool: "ip" | "bridge", commands: readonly string[]): Promise<Map<number, string>> {
  if (commands.length === 0) return new Map();
  const r = await sys.run([tool, "-force", "-batch", "-"], `${commands.join("\n")}\n`);
  return parseBatchErrors(r.stderr);
}
