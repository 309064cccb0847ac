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

/** One of the allowed strings from a flag. */
export function oneOf<T extends string>(flag: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${flag}: expected one of ${allowed.join(', ')}, got '${String(value)}'`);
}
