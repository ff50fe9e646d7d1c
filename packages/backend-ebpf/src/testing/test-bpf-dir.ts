/** Unique bpf directories for tests: /sys/fs/bpf/ptables-test-<pid>-<n>. */
let counter = 0;

export function uniqueBpfDir(): string {
  counter += 1;
  return `/sys/fs/bpf/ptables-test-${process.pid}-${counter}`;
}
