import { UsageError } from '../errors.js';
import { writeFailure } from '../io/atomic.js';

/**
 * A failed write of a run's file as the user's error: `--out: FILE: cannot write: ...`, and which
 * checkpoint is left (`left`), when the cause is the environment (read-only, full disk, ...).
 */
export function outFailure(file: string, e: unknown, left?: string): Error {
  const err = writeFailure(file, e);
  return err instanceof UsageError ? new UsageError(`--out: ${err.message}${left ? `; ${left}` : ''}`) : err;
}
