/** An integer setting from the environment, or the default; a bad value stops the benchmark. */
export function intEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name]?.trim();
  const v = raw ? Number(raw) : fallback;
  if (!Number.isInteger(v) || v < min || v > max) {
    console.error(`${name} must be an integer from ${min} to ${max}`);
    process.exit(2);
  }
  return v;
}

/**
 * Cleanup for a benchmark run: functions registered with `add` run once, newest first, at the
 * end, on Ctrl-C, or when the watchdog fires (then the process exits non-zero).
 */
export function runGuard(watchdogMs: number) {
  const cleanups: (() => Promise<unknown>)[] = [];
  let cleaning: Promise<void> | null = null;
  const cleanup = () => {
    cleaning ??= (async () => {
      for (const fn of cleanups.reverse()) {
        try {
          await fn();
        } catch (err) {
          console.error(`cleanup: ${(err as Error).message}`);
        }
      }
    })();
    return cleaning;
  };
  const abort = (why: string) => {
    console.error(`\n${why}; cleaning up`);
    process.exitCode = 1;
    void cleanup().finally(() => process.exit(1));
  };
  const watchdog = setTimeout(() => abort(`benchmark still running after ${watchdogMs / 60_000} min`), watchdogMs);
  watchdog.unref();
  process.once('SIGINT', () => abort('interrupted'));
  return { add: (fn: () => Promise<unknown>) => cleanups.push(fn), cleanup, watchdog };
}

/** Runs a benchmark's main, reporting a crash as a failure; never hangs on a stray handle after. */
export async function runBenchmark(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    console.error(`\nbenchmark failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  }
  setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
}
