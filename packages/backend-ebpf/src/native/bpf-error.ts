/**
 * Errors from libbpf, libc and the bpf() syscall, as one typed class: the message is
 * "operation: strerror (errno)", and `code` is the errno name so callers can branch on it.
 */
import { constants } from "node:os";
import { PtablesError } from "@ptables/api";
import { libC } from "./native-libs";

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** errno values the backend branches on. */
export const Errno = {
  EPERM: constants.errno.EPERM,
  ENOENT: constants.errno.ENOENT,
  EEXIST: constants.errno.EEXIST,
  EINVAL: constants.errno.EINVAL,
  ENOSPC: constants.errno.ENOSPC,
  ENOMEM: constants.errno.ENOMEM,
  E2BIG: constants.errno.E2BIG,
  ENODEV: constants.errno.ENODEV,
  EOPNOTSUPP: constants.errno.EOPNOTSUPP,
  /** The kernel's internal "not supported" (524); libbpf passes it through. */
  ENOTSUPP: 524,
} as const;

export class BpfError extends PtablesError {
  /** errno name, e.g. "ENOENT" ("ENOTSUPP" for the kernel-internal 524). */
  readonly code: string;

  constructor(
    /** What was being done, e.g. "update pt_rules". */
    readonly operation: string,
    readonly errno: number,
    /** Extra lines for the message (e.g. the verifier's log). */
    detail?: string,
  ) {
    super(`${operation}: ${describeErrno(errno)}${detail ? `\n${detail}` : ""}`);
    this.code = errno === Errno.ENOTSUPP ? "ENOTSUPP" : (ERRNO_NAMES.get(errno) ?? `E${errno}`);
  }
}

/** "No such file or directory (2)". */
export function describeErrno(errno: number): string {
  if (errno === Errno.ENOTSUPP) return `operation not supported by this kernel (${errno})`;
  let text: string;
  try {
    text = libC().strerror(errno);
  } catch {
    text = ERRNO_NAMES.get(errno) ?? "unknown error";
  }
  return `${text} (${errno})`;
}

/** Throws BpfError for a negative libbpf return value; returns the value otherwise. */
export function check(ret: number, operation: string): number {
  if (ret < 0) throw new BpfError(operation, -ret);
  return ret;
}

/** Whether `err` is a BpfError with one of the given errno values. */
export function isErrno(err: unknown, ...errnos: number[]): boolean {
  return err instanceof BpfError && errnos.includes(err.errno);
}
