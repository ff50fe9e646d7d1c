/**
 * `ptables cleanup` and `ptablesctl cleanup`: removes everything ptables created in this
 * network namespace (tc filters, the routes and neighbours it owns, the BPF maps and programs
 * pinned under the BPF dir), through the eBPF backend's own cleanup(), so only what carries
 * ptables' marks is touched.
 *
 * The datapath keeps enforcing policy while the agents are down, so cleaning up under running
 * agents would only be undone by them (or leave endpoints without policy until they notice):
 * it is refused while any agent answers on its socket, unless --force.
 */
import type { Backend } from "@ptables/api";
import { ConfigError, loadConfig } from "@ptables/runtime";
import type { CliIo } from "./cli-io";
import { EXIT_FAILURE, EXIT_OK } from "./cli-io";
import type { Command } from "./command";
import { UsageError } from "./command";
import { parseArgs } from "./args";
import { AGENTS, agentSocket, socketProblem } from "./ctl/agents";

/** Makes the backend to clean up (the eBPF owner of `bpfDir`); injectable for tests. */
export type CleanupBackendFactory = (bpfDir: string) => Promise<Pick<Backend, "cleanup">>;

/** The real one. Loaded on use, so the other commands never load the FFI layer. */
export const ebpfCleanupBackend: CleanupBackendFactory = async (bpfDir) => {
  const { EbpfBackend } = await import("@ptables/backend-ebpf");
  return new EbpfBackend({ bpfDir, role: "owner" });
};

function help(prog: string): string {
  return `Usage: ${prog} cleanup [--bpf-dir <dir>] [--force] [--json] [--run-dir <dir>]

Removes everything ptables created in this network namespace: its tc filters on every
interface, the routes and neighbours it owns, and the BPF maps and programs pinned in the BPF
dir. Needs root. Refused while a ptables agent answers on its socket in the run dir (stop
ptables first), unless --force.

Options:
  --bpf-dir <dir>   The BPF dir to remove (default: PTABLES_BPF_DIR or /sys/fs/bpf/ptables)
  --force           Clean up even though agents are running
  --run-dir <dir>   Where to look for running agents (default: PTABLES_RUN_DIR or /var/run/ptables)
  --json            Print the outcome as JSON

Exit status: 0 when everything was removed; 1 if refused or if removing failed; 2 for a bad
command line.`;
}

/** The cleanup command for `prog` ("ptables" or "ptablesctl"). */
export function cleanupCommand(prog: string, backendFor: CleanupBackendFactory = ebpfCleanupBackend): Command {
  return {
    name: "cleanup",
    summary: "Remove everything ptables created in this network namespace",
    help: help(prog),
    async run(args, io: CliIo) {
      const { options } = parseArgs(args, { "bpf-dir": "string", force: "boolean", json: "boolean", "run-dir": "string" }, []);
      let config;
      try {
        config = loadConfig(io.env);
      } catch (err) {
        if (err instanceof ConfigError) throw new UsageError("configuration", err.message);
        throw err;
      }
      const bpfDir = (options["bpf-dir"] as string | undefined) ?? config.bpfDir;
      if (!bpfDir.startsWith("/")) throw new UsageError("--bpf-dir", `'${bpfDir}' is not an absolute path`);
      const runDir = (options["run-dir"] as string | undefined) ?? config.runDir;
      const json = options.json === true;
      const report = (outcome: Record<string, unknown>, line: string, failed: boolean): number => {
        if (json) io.out(JSON.stringify({ bpfDir, ...outcome }));
        else (failed ? io.err : io.out)(failed ? `${prog} cleanup: ${line}` : line);
        return failed ? EXIT_FAILURE : EXIT_OK;
      };

      if (options.force !== true) {
        const running: string[] = [];
        for (const agent of AGENTS) {
          const socket = agentSocket(runDir, agent);
          if ((await socketProblem(socket)) === undefined) running.push(`${agent} (${socket})`);
        }
        if (running.length > 0) {
          return report(
            { cleaned: false, runningAgents: running },
            `refused: ptables is running here (${running.join(", ")} answer); stop it first, or pass --force`,
            true,
          );
        }
      }
      try {
        const backend = await backendFor(bpfDir);
        await backend.cleanup();
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const hint = /EPERM|EACCES|not permitted|permission/i.test(message) ? " (run as root)" : "";
        return report({ cleaned: false, error: message }, `${message}${hint}`, true);
      }
      return report({ cleaned: true }, `Removed ptables' tc filters, owned routes and neighbours, and the pins in ${bpfDir}.`, false);
    },
  };
}
