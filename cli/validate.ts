import { UsageError } from '../src/errors.js';

/** A finite number from a flag, or a UsageError naming the flag. */
export function finiteNumber(flag: string, value: unknown): number {
  const v = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new UsageError(`--${flag}: expected a number, got '${String(value)}'`);
  return v;
}

/** A positive number from a flag. */
export function positiveNumber(flag: string, value: unknown): number {
  const v = finiteNumber(flag, value);
  if (!(v > 0)) throw new UsageError(`--${flag}: expected a positive number, got ${v}`);
  return v;
}

/** An integer >= min from a flag. */
export function integerAtLeast(flag: string, value: unknown, min: number): number {
  const v = finiteNumber(flag, value);
  if (!Number.isInteger(v) || v < min) throw new UsageError(`--${flag}: expected an integer >= ${min}, got ${String(value)}`);
  return v;
}

/** An integer in [min, max] from a flag (max guards against sizes that cannot fit in memory). */
export function integerInRange(flag: string, value: unknown, min: number, max: number): number {
  const v = integerAtLeast(flag, value, min);
  if (v > max) throw new UsageError(`--${flag}: expected an integer from ${min} to ${max}, got ${String(value)}`);
  return v;
}

/** Most float32 values a sample set may hold (2^27, 512 MiB). */
export const MAX_SAMPLE_VALUES = 2 ** 27;

/**
 * Most samples one solver run over all of --n may hold (sde compare, sde demo: every run's samples
 * are kept for the metrics); beyond it the network's activations outgrow the wasm heap.
 * sde sample streams in chunks and has no such limit.
 */
export const MAX_RUN_SAMPLES = 500_000;

/** Checks that n samples of the given shape fit in memory; the flag names the count. */
export function checkSampleCount(flag: string, n: number, shape: readonly number[]): void {
  const d = shape.reduce((a, b) => a * b, 1);
  if (n * d > MAX_SAMPLE_VALUES) throw new UsageError(`--${flag}: ${n} samples of ${d} values exceed the limit of ${MAX_SAMPLE_VALUES} values; use at most ${Math.floor(MAX_SAMPLE_VALUES / d)}`);
}

/**
 * `--flag -1e-3` as `--flag=-1e-3`: the parser reads a negative number in exponent notation as
 * short options (-1 -e -3) rather than as the flag's value.
 */
export function joinNegativeNumbers(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--') return [...out, ...args.slice(i)];
    if (/^--[^=]+$/.test(args[i]) && /^-\.?\d/.test(args[i + 1] ?? '')) out.push(`${args[i]}=${args[++i]}`);
    else out.push(args[i]);
  }
  return out;
}

/**
 * Rejects what the parser would silently accept: a flag given twice (yargs makes an array of
 * its values), a value attached to a switch other than true or false (`--json=maybe`), and
 * arguments after `--` (no command takes positional arguments).
 */
export function checkFlagUse(argv: Record<string, unknown>, raw: readonly string[], switches: readonly string[]): void {
  const positional = argv._ as unknown[];
  if (positional.length > 1) throw new UsageError(`unexpected argument '${String(positional[1])}': ${String(positional[0])} takes only --flags`);
  for (const [key, value] of Object.entries(argv)) {
    if (key !== '_' && key !== '$0' && Array.isArray(value)) throw new UsageError(`--${key}: given more than once`);
  }
  for (const arg of raw) {
    if (arg === '--') break;
    const m = /^--?([^=]+)=(.*)$/s.exec(arg);
    if (m && switches.includes(m[1]) && m[2] !== 'true' && m[2] !== 'false') throw new UsageError(`--${m[1]}: a switch takes no value, got '${m[2]}'`);
  }
}

/** One of the allowed strings from a flag. */
export function oneOf<T extends string>(flag: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${flag}: expected one of ${allowed.join(', ')}, got '${String(value)}'`);
}
