/**
 * An EbpfBackend in a child process, driven line by line over stdin/stdout (see
 * remote-backend.ts). Started inside a network namespace, it lets a test drive the backend
 * there while the test itself stays in its own namespace. Exits when stdin closes.
 */
import { createInterface } from "node:readline";
import type { Tables } from "@ptables/api";
import { EbpfBackend, type EbpfBackendOptions } from "../ebpf-backend";
import { progTestRun, type TestRunOptions } from "../native/prog-test-run";
import { TcHook, ifnameToIndex, queryFilter } from "../native/tc";
import { fromWire, toWire } from "./rpc-json";

interface Request {
  id: number;
  method: string;
  args: unknown[];
}

function dispatch(backend: EbpfBackend, method: string, args: unknown[]): unknown {
  const [scope, name, op] = method.split(".");
  if (scope === "table") {
    const table = backend.tables[name as keyof Tables] as unknown as Record<string, (...a: unknown[]) => unknown>;
    if (!table || (op !== "loadAll" && op !== "applyBatch")) throw new Error(`unknown method ${method}`);
    return table[op]!(...args);
  }
  if (scope === "arp") return name === "get" ? backend.arpConfig.get() : backend.arpConfig.set(args[0] as never);
  if (scope === "filters") {
    const ifname = args[0] as string;
    const ifindex = ifnameToIndex(ifname);
    if (ifindex === undefined) return { ingress: null, egress: null };
    return { ingress: queryFilter(ifindex, ifname, TcHook.Ingress) ?? null, egress: queryFilter(ifindex, ifname, TcHook.Egress) ?? null };
  }
  if (scope === "testRun") {
    // testRun.<hook>(packet as hex, options): BPF_PROG_TEST_RUN in this namespace.
    const fds = backend.programFds();
    const fd = { from: fds.fromEp, to: fds.toEp, "host-in": fds.fromHost, "host-out": fds.toHost }[name as "from" | "to" | "host-in" | "host-out"];
    if (fd === undefined) throw new Error(`unknown method ${method}`);
    const result = progTestRun(fd, Buffer.from(args[0] as string, "hex"), args[1] as TestRunOptions);
    return { retval: result.retval, mark: result.mark, data: result.data.toString("hex") };
  }
  if (scope === "backend") {
    const fn = (backend as unknown as Record<string, unknown>)[name!];
    if (typeof fn !== "function") throw new Error(`unknown method ${method}`);
    return (fn as (...a: unknown[]) => unknown).apply(backend, args);
  }
  throw new Error(`unknown method ${method}`);
}

export function main(options: EbpfBackendOptions): void {
  const backend = new EbpfBackend(options);
  const lines = createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  lines.on("line", (line) => {
    // One request at a time, in order: the backend is not re-entrant.
    queue = queue.then(async () => {
      const req = fromWire(line) as Request;
      try {
        const result = await dispatch(backend, req.method, req.args);
        process.stdout.write(`${toWire({ id: req.id, result: result ?? null })}\n`);
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        process.stdout.write(`${toWire({ id: req.id, error: { name: e.name, message: e.message } })}\n`);
      }
    });
  });
  lines.on("close", () => {
    void queue.then(() => backend.close()).finally(() => process.exit(0));
  });
}
