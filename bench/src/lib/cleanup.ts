/**
 * Everything the suite creates registers how to undo it here. `runCleanups()` undoes it in
 * reverse order, each step isolated from the others' failures; SIGINT/SIGTERM and uncaught
 * errors run it before the process exits, so a Ctrl-C leaves nothing behind.
 */

type Step = { what: string; fn: () => Promise<void> | void };

const steps: Step[] = [];
let running: Promise<string[]> | undefined;

/** Registers an undo step; returns a function that runs it now (and unregisters it). */
export function onCleanup(what: string, fn: () => Promise<void> | void): () => Promise<void> {
  const step: Step = { what, fn };
  steps.push(step);
  return async () => {
    const i = steps.indexOf(step);
    if (i < 0) return;
    steps.splice(i, 1);
    await fn();
  };
}

/** Runs every registered step, newest first; returns the failures. */
export function runCleanups(): Promise<string[]> {
  running ??= (async () => {
    const failures: string[] = [];
    while (steps.length > 0) {
      const step = steps.pop()!;
      try {
        await step.fn();
      } catch (err) {
        failures.push(`${step.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    running = undefined;
    return failures;
  })();
  return running;
}

let installed = false;

/** SIGINT/SIGTERM/SIGHUP: clean up, then exit 130/143. */
export function installSignalHandlers(log: (line: string) => void): void {
  if (installed) return;
  installed = true;
  let interrupted = false;
  const handler = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`\n${signal}: cleaning up…`);
    void runCleanups().then((failures) => {
      for (const f of failures) log(`cleanup: ${f}`);
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  process.on("SIGHUP", handler);
}
