/**
 * Runs external commands as argv arrays (never through a shell) and turns a non-zero exit into
 * an error that names the command and carries its stderr, so a failing harness step explains
 * itself in the test output.
 */
import { execFile } from "node:child_process";

/** A command that exited non-zero, could not start, or ran past its timeout. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | string | null,
    readonly stderr: string,
    readonly stdout: string,
    cause?: unknown,
  ) {
    super(`${argv.join(" ")}: ${stderr.trim() || `exit ${exitCode}`}`, { cause });
    this.name = "CommandError";
  }
}

export interface CommandOutput {
  stdout: string;
  stderr: string;
}

/** Generous: harness commands take milliseconds; this only stops a wedged one hanging a suite. */
const DEFAULT_TIMEOUT_MS = 30_000;

/** Runs `argv[0]` with the remaining arguments; resolves with its output, rejects with CommandError. */
export function runCommand(argv: readonly string[], options: { timeoutMs?: number } = {}): Promise<CommandOutput> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error("runCommand: empty argv"));
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, encoding: "utf8" },
      (err, stdout, stderr) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException & { code?: number | string }).code ?? null;
          reject(new CommandError(argv, code, stderr || err.message, stdout, err));
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
  });
}
