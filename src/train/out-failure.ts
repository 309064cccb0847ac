import { UsageError } from '../errors.js';
import { writeFailure } from '../io/atomic.js';

/** A user's error about a run's output as `--out: MESSAGE` with which checkpoint is left (`left`); other errors unchanged. */
export function outError(e: unknown, left?: string): unknown {
  return e instanceof UsageError ? new UsageError(`--out: ${e.message}${left ? `; ${left}` : ''}`) : e;
}

/**
 * A failed write of a run's file as the user's error: `--out: FILE: cannot write: ...`, and which
 * checkpoint is left (`left`), when the cause is the environment (read-only, full disk, ...).
 */
export function outFailure(file: string, e: unknown, left?: string): unknown {
  return outError(writeFailure(file, e), left);
}
