/** Thin wrappers over `ip netns` for listing, adding and deleting named network namespaces. */
import { CommandError, runCommand } from "./run-command";

/** Names of all named network namespaces on the machine (`ip netns list`). */
export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await runCommand(["ip", "netns", "list"]);
  // Lines look like "name" or "name (id: 3)".
  return stdout
    .split("\n")
    .map((line) => line.trim().split(/\s+/)[0] ?? "")
    .filter((name) => name.length > 0);
}

/** Creates namespace `name`; fails if it already exists. */
export async function addNamespace(name: string): Promise<void> {
  await runCommand(["ip", "netns", "add", name]);
}

/**
 * Deletes namespace `name`; a namespace that does not exist counts as deleted, so cleanup can run
 * after a creation that failed half-way. Links inside go with it (veth peers elsewhere too).
 */
export async function deleteNamespace(name: string): Promise<void> {
  try {
    await runCommand(["ip", "netns", "delete", name]);
  } catch (err) {
    if (err instanceof CommandError && /No such file or directory/.test(err.stderr)) return;
    throw err;
  }
}
