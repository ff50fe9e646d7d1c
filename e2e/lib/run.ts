/** Runs a command as an argv array (no shell); a non-zero exit rejects with its stderr. */
import { execFile } from "node:child_process";

export function runCommand(argv: readonly string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<{ stdout: string; stderr: string }> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error("runCommand: empty argv"));
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: options.timeoutMs ?? 30_000, maxBuffer: 16 << 20, encoding: "utf8", env: options.env ?? process.env }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${argv.join(" ")}: ${(stderr || err.message).trim()}`, { cause: err }));
      else resolve({ stdout, stderr });
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
