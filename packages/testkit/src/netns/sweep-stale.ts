/**
 * Removes namespaces left behind by harness runs that crashed before their afterAll ran. Only
 * namespaces whose creating process is gone are touched, so parallel jest workers (and other
 * topologies in this process) keep theirs.
 */
import { deleteNamespace, listNamespaces } from "./namespaces";
import { namespaceOwnerPid, validatePrefix } from "./names";

/** Deletes leftover `<prefix>-<pid>-…` namespaces whose pid no longer runs; returns their names. */
export async function sweepStale(prefix: string): Promise<string[]> {
  validatePrefix(prefix);
  const stale = (await listNamespaces()).filter((ns) => {
    const pid = namespaceOwnerPid(prefix, ns);
    return pid !== undefined && !processAlive(pid);
  });
  for (const ns of stale) await deleteNamespace(ns);
  return stale;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else, so it is alive.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
