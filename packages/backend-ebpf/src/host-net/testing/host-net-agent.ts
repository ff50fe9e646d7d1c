/**
 * LinuxHostNetwork (and the routes table) in a child process, driven by JSON lines on stdin, so
 * a test can run them inside a network namespace it created (see remote-host-network.ts).
 * Exits when stdin closes.
 */
import { createInterface } from "node:readline";
import type { Sysctl } from "@ptables/api";
import { RoutesTable } from "../../tables/routes-table";
import { fromWire, toWire } from "../../testing/rpc-json";
import { LinuxHostNetwork } from "../linux-host-network";

interface Request {
  id: number;
  method: string;
  args: unknown[];
}

export function main(): void {
  const net = new LinuxHostNetwork();
  const routes = new RoutesTable();
  const tables: Record<string, { loadAll(): Promise<unknown>; applyBatch(u: never, d: never): Promise<unknown> }> = {
    tunnels: net.tunnels,
    fdb: net.fdb,
    natOutgoing: net.natOutgoing,
    routes,
  };
  const dispatch = (method: string, args: unknown[]): Promise<unknown> => {
    const [scope, op] = method.split(".");
    const table = tables[scope!];
    if (table && op === "loadAll") return table.loadAll();
    if (table && op === "applyBatch") return table.applyBatch(args[0] as never, args[1] as never);
    if (method === "setSysctls") {
      const optional = new Set(args[1] as string[]);
      return net.setSysctls(args[0] as Sysctl[], (s) => optional.has(s.path));
    }
    if (method === "defaultRpFilter") return net.defaultRpFilter();
    if (method === "cleanup") return net.cleanup();
    return Promise.reject(new Error(`unknown method ${method}`));
  };
  let queue = Promise.resolve();
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    queue = queue.then(async () => {
      const req = fromWire(line) as Request;
      try {
        const result = await dispatch(req.method, req.args);
        process.stdout.write(`${toWire({ id: req.id, result: result ?? null })}\n`);
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        process.stdout.write(`${toWire({ id: req.id, error: { name: e.name, message: e.message } })}\n`);
      }
    });
  });
  lines.on("close", () => void queue.finally(() => process.exit(0)));
}
