/**
 * felix.sock: where a relaying driver connects to hand over Felix's stream (daemon mode).
 * The bytes are Felix's framing unchanged, so the socket speaks exactly what fd 3 and fd 4 do.
 *
 * A connection becomes "the Felix connection" only once it sends its first byte. Felix always
 * starts with ConfigUpdate, while a connection that sends nothing is someone checking whether
 * the socket is alive (another agent's stale-socket probe); such a probe must not replace the
 * live Felix connection and wipe the store.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import { prepareSocketPath, type Logger } from "@ptables/runtime";
import type { FelixProxy } from "./felix-proxy";

/** The felix.sock listener of the felix-proxy daemon. */
export class FelixListener {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private nextId = 1;

  constructor(
    private readonly proxy: FelixProxy,
    private readonly socketPath: string,
    private readonly logger: Logger,
  ) {
    this.server = net.createServer((socket) => this.onConnection(socket));
  }

  /** Listens on the socket (its directory 0700, the socket 0600); refuses a live one. */
  async listen(): Promise<void> {
    await prepareSocketPath(this.socketPath, this.logger);
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.socketPath, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    fs.chmodSync(this.socketPath, 0o600);
    this.logger.info("listening for Felix", { socket: this.socketPath });
  }

  /** Stops listening and drops every connection (the socket file is removed by close). */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(socket: net.Socket): void {
    const label = `felix.sock#${this.nextId++}`;
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => undefined); // the session reports errors once it owns the socket
    socket.once("readable", () => {
      if (socket.readableLength === 0) {
        // Closed without a byte: a liveness probe, not Felix.
        socket.destroy();
        return;
      }
      // The session re-reads from the start: nothing has been consumed yet ("readable" only).
      try {
        this.proxy.attach(socket, socket, label);
      } catch (err) {
        this.logger.warn("refusing a Felix connection", { connection: label, reason: err instanceof Error ? err.message : String(err) });
        socket.destroy();
      }
    });
  }
}
