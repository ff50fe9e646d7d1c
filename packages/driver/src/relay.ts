/**
 * Relay mode: a felix-proxy daemon already listens on felix.sock, so the driver only copies
 * bytes, fd 3 -> socket and socket -> fd 4, unchanged. Felix's framing passes through as is;
 * the proxy does all the parsing.
 */
import * as net from "node:net";
import type { Readable, Writable } from "node:stream";
import { PtablesError, errorMessage } from "@ptables/api";

/** How the relay ended; code 0 only when Felix closed fd 3. */
export interface RelayEnd {
  code: number;
  reason: string;
}

/**
 * Connects to felix.sock. Resolves the connected socket, or undefined when nobody listens
 * there (no file, or refused): that is standalone mode. Other failures (e.g. EACCES) reject.
 */
export function connectFelixSocket(socketPath: string, timeoutMs = 2000): Promise<net.Socket | undefined> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path: socketPath });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new PtablesError(`connect ${socketPath}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      if (err.code === "ENOENT" || err.code === "ECONNREFUSED") resolve(undefined);
      else reject(new PtablesError(`connect ${socketPath}: ${err.code ?? err.message}`, { cause: err }));
    });
  });
}

/**
 * Copies bytes both ways until either side ends. Felix closing fd 3 ends the relay with code 0
 * (after handing what was read to the proxy); the proxy closing the socket, or any error,
 * ends it with code 1 so that Felix notices and restarts cleanly.
 */
export function relay(input: Readable, output: Writable, socket: net.Socket): { done: Promise<RelayEnd>; stop: (reason: string) => void } {
  let finish!: (end: RelayEnd) => void;
  let ended = false;
  const done = new Promise<RelayEnd>((resolve) => (finish = resolve));
  const end = (e: RelayEnd): void => {
    if (ended) return;
    ended = true;
    input.unpipe(socket);
    socket.unpipe(output);
    finish(e);
  };
  input.pipe(socket, { end: false });
  socket.pipe(output, { end: false });
  let felixClosed = false;
  const felixGone: RelayEnd = { code: 0, reason: "Felix closed fd 3" };
  input.once("end", () => {
    felixClosed = true;
    // Let the proxy see Felix's last frames and the EOF, then go.
    socket.end(() => end(felixGone));
  });
  input.once("error", (err) => end({ code: 1, reason: `reading fd 3 failed: ${errorMessage(err)}` }));
  output.once("error", (err) => end({ code: 1, reason: `writing fd 4 failed: ${errorMessage(err)}` }));
  const proxyGone = (reason: string) => () => end(felixClosed ? felixGone : { code: 1, reason });
  socket.once("end", proxyGone("felix-proxy closed the connection"));
  socket.once("close", proxyGone("felix-proxy closed the connection"));
  socket.once("error", (err) => end(felixClosed ? felixGone : { code: 1, reason: `felix.sock failed: ${errorMessage(err)}` }));
  return {
    done,
    stop: (reason: string) => {
      socket.destroy();
      end({ code: 0, reason });
    },
  };
}
