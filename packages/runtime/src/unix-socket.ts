/**
 * Unix-socket housekeeping shared by every listener: the run directory, and what to do with a
 * socket file that is already there. A socket some live process still serves is never taken
 * over (two agents of one kind would fight over the datapath); one nobody answers on is left
 * over from a crash and is removed.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { PtablesError } from "@ptables/api";
import type { Logger } from "./logger";

/** sun_path holds 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

/** Another process is serving the socket we were asked to listen on. */
export class SocketInUseError extends PtablesError {
  constructor(readonly socketPath: string) {
    super(`listen on ${socketPath}: a live process is already serving this socket; refusing to take it over`);
  }
}

/**
 * Tries to connect to a Unix socket. Resolves true if something accepted the connection,
 * false if nobody listens (absent file, refused); rejects on anything else (e.g. EACCES).
 */
export function probeUnixSocket(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ path: socketPath });
    const timer = setTimeout(() => {
      sock.destroy();
      // Accepting nothing within the timeout is a hung process, not a free socket: do not steal it.
      resolve(true);
    }, timeoutMs);
    sock.once("connect", () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(true);
    });
    sock.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      sock.destroy();
      if (err.code === "ECONNREFUSED" || err.code === "ENOENT") resolve(false);
      else reject(new PtablesError(`probe ${socketPath}: ${err.code ?? err.message}`, { cause: err }));
    });
  });
}

/**
 * Creates the socket's directory (mode 0700) if missing. An existing directory is left as it
 * is, so pointing the run dir at a shared directory never changes that directory's mode; a
 * group- or world-accessible one is logged.
 */
export function ensureRunDir(dir: string, logger?: Logger): void {
  const created = fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) {
    // mkdir's mode is filtered by the umask; be explicit about the directory we own.
    fs.chmodSync(dir, 0o700);
    return;
  }
  const st = fs.statSync(dir);
  if (!st.isDirectory()) throw new PtablesError(`run dir ${dir}: exists and is not a directory`);
  if ((st.mode & 0o077) !== 0) logger?.warn("run dir is accessible to other users", { dir, mode: (st.mode & 0o777).toString(8) });
}

/**
 * Makes `socketPath` free to bind: creates the directory, refuses a live socket, removes a
 * stale one, and refuses to delete anything that is not a socket.
 */
export async function prepareSocketPath(socketPath: string, logger?: Logger): Promise<void> {
  if (!path.isAbsolute(socketPath)) throw new PtablesError(`socket ${socketPath}: not an absolute path`);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new PtablesError(`socket ${socketPath}: path is ${Buffer.byteLength(socketPath)} bytes, Unix sockets allow at most ${MAX_SOCKET_PATH_BYTES}`);
  }
  ensureRunDir(path.dirname(socketPath), logger);
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (!st.isSocket()) throw new PtablesError(`socket ${socketPath}: exists and is not a socket; refusing to remove it`);
  if (await probeUnixSocket(socketPath)) throw new SocketInUseError(socketPath);
  logger?.info("removing stale socket", { socket: socketPath });
  try {
    fs.unlinkSync(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/** Removes a socket file we created, unless someone else has replaced it since (other inode). */
export function removeOwnSocket(socketPath: string, ino: number | undefined): void {
  try {
    const st = fs.lstatSync(socketPath);
    if (ino !== undefined && st.ino !== ino) return;
    fs.unlinkSync(socketPath);
  } catch {
    // Already gone (the listener's close usually unlinks it).
  }
}
