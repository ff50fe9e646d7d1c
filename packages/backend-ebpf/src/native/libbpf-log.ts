/**
 * libbpf's log output. By default libbpf prints to stderr, including harmless noise (every
 * tc query on an interface without clsact logs "Parent Qdisc doesn't exists"). ptables routes
 * it here instead and keeps the recent lines, so a failed load can quote the verifier's log in
 * its error and nothing is printed otherwise. Set PTABLES_LIBBPF_LOG=1 to also echo to stderr.
 */
import koffi from "koffi";

/** Lines kept for error messages. */
const KEEP = 200;
const recent: string[] = [];
let installed = false;
// Registered callbacks must stay referenced for as long as libbpf may call them.
let callback: unknown;

/** Routes libbpf's log into this module (idempotent). */
export function captureLibbpfLog(): void {
  if (installed) return;
  installed = true;
  const libc = koffi.load("libc.so.6");
  const vsnprintf = libc.func("int vsnprintf(void *buf, size_t size, const char *fmt, void *ap)");
  // Anonymous: a named type would clash when jest loads this module again in the same process.
  const printFn = koffi.proto("int", ["int", "const char *", "void *"]);
  const setPrint = koffi.load("libbpf.so.1").func("void *libbpf_set_print(void *fn)");
  const buf = Buffer.alloc(8192);
  callback = koffi.register((_level: number, fmt: string, ap: unknown) => {
    const n = vsnprintf(buf, buf.length, fmt, ap) as number;
    const text = buf.subarray(0, Math.max(0, Math.min(n, buf.length - 1))).toString("utf8");
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      recent.push(line);
      if (recent.length > KEEP) recent.shift();
      if (process.env.PTABLES_LIBBPF_LOG === "1") process.stderr.write(`libbpf: ${line}\n`);
    }
    return 0;
  }, koffi.pointer(printFn));
  setPrint(callback);
}

/** Empties the kept lines (call before an operation whose log you want). */
export function clearLibbpfLog(): void {
  recent.length = 0;
}

/** The last `n` kept lines. */
export function recentLibbpfLog(n = 40): string[] {
  return recent.slice(-n);
}
