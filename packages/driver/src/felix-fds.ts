/**
 * Felix's two pipes. Felix starts the driver with ExtraFiles = [toDriverR, fromDriverW], so
 * fd 3 is where ToDataplane frames arrive and fd 4 is where FromDataplane frames go. Pipes and
 * sockets are wrapped as non-blocking net.Sockets (nothing ties up the thread pool); any other
 * kind of file (a test's regular file) falls back to fs streams.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import type { Readable, Writable } from "node:stream";
import { PtablesError } from "@ptables/api";

/** Felix's ToDataplane pipe (ExtraFiles[0]). */
export const FELIX_INPUT_FD = 3;
/** Felix's FromDataplane pipe (ExtraFiles[1]). */
export const FELIX_OUTPUT_FD = 4;

/** fd 3 or 4 is not one Felix passed: the driver was not started by Felix. */
export class MissingFelixFdError extends PtablesError {
  constructor(
    readonly fd: number,
    detail = "is not open",
  ) {
    super(`fd ${fd} ${detail}: ptables-felix-driver must be started by Felix, which passes its pipes as fd 3 (to the driver) and fd 4 (from the driver)`);
  }
}

/**
 * Checks that `fd` is one Felix passed. When Felix did not pass fds 3 and 4, Node and libuv
 * open their own descriptors at the lowest free numbers, i.e. exactly there: an epoll
 * instance, an eventfd, an internal pipe whose other end this process also holds. Reading or
 * closing one of those would break the event loop, so the driver refuses to start instead.
 */
function checkInherited(fd: number): fs.Stats {
  let st: fs.Stats;
  try {
    st = fs.fstatSync(fd);
  } catch {
    throw new MissingFelixFdError(fd);
  }
  if (!(st.isFIFO() || st.isSocket() || st.isFile() || st.isCharacterDevice())) {
    throw new MissingFelixFdError(fd, "is not a pipe, socket or file (the number is taken by the runtime's own descriptor)");
  }
  if (st.isFIFO() && bothEndsHere(fd)) {
    throw new MissingFelixFdError(fd, "is not open (the number is taken by the runtime's own pipe)");
  }
  return st;
}

/** Whether another descriptor of this process refers to the same pipe (Felix keeps the other end). */
function bothEndsHere(fd: number): boolean {
  let target: string;
  let others: string[];
  try {
    target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    others = fs.readdirSync("/proc/self/fd");
  } catch {
    return false; // no /proc: trust the type check
  }
  for (const other of others) {
    if (other === String(fd)) continue;
    try {
      if (fs.readlinkSync(`/proc/self/fd/${other}`) === target) return true;
    } catch {
      // closed while we looked (readdir's own descriptor)
    }
  }
  return false;
}

/** The stream of frames from Felix (fd 3 unless told otherwise). */
export function openFelixInput(fd = FELIX_INPUT_FD): Readable {
  const st = checkInherited(fd);
  if (st.isFIFO() || st.isSocket()) return new net.Socket({ fd, readable: true, writable: false });
  return fs.createReadStream("", { fd, autoClose: true });
}

/** The stream of frames to Felix (fd 4 unless told otherwise). */
export function openFelixOutput(fd = FELIX_OUTPUT_FD): Writable {
  const st = checkInherited(fd);
  if (st.isFIFO() || st.isSocket()) return new net.Socket({ fd, readable: false, writable: true });
  return fs.createWriteStream("", { fd, autoClose: true });
}
