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
