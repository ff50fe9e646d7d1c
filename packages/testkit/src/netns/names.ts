/**
 * How harness objects are named. Namespace names are global on the machine, so each one starts
 * with `<prefix>-<pid>-<counter>-`: parallel jest workers never collide, and a later run can tell
 * from the pid whether the owner of a leftover namespace is still alive.
 */

/** Linux's IFNAMSIZ minus the terminating NUL. */
export const MAX_IFNAME_LENGTH = 15;

const PREFIX_PATTERN = /^[a-z][a-z0-9]{0,9}$/;
const MEMBER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.]{0,19}$/;

/** Throws unless `prefix` is short lowercase alphanumerics (no dashes, so names parse back). */
export function validatePrefix(prefix: string): void {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new Error(`netns prefix "${prefix}": want 1-10 lowercase letters or digits, starting with a letter`);
  }
}

/** Throws unless `name` is usable as a node, pod or fabric name inside a namespace name. */
export function validateMemberName(kind: string, name: string): void {
  if (!MEMBER_NAME_PATTERN.test(name)) {
    throw new Error(`${kind} name "${name}": want 1-20 letters, digits, "_" or ".", not starting with a punctuation mark`);
  }
}

/** Throws unless `name` is a valid Linux interface name. */
export function validateIfname(name: string): void {
  if (name.length === 0 || name.length > MAX_IFNAME_LENGTH || /[\s/:]/.test(name) || name === "." || name === "..") {
    throw new Error(`interface name "${name}": want 1-${MAX_IFNAME_LENGTH} characters without whitespace, "/" or ":"`);
  }
}

/** The common start of every namespace one topology creates. */
export function topologyBaseName(prefix: string, pid: number, counter: number): string {
  return `${prefix}-${pid}-${counter}`;
}

/** The pid that created namespace `nsName` under `prefix`, or undefined if the name is not ours. */
export function namespaceOwnerPid(prefix: string, nsName: string): number | undefined {
  const match = new RegExp(`^${prefix}-(\\d+)-\\d+-`).exec(nsName);
  return match ? Number(match[1]) : undefined;
}
