/**
 * An error caused by the user's input (a flag, a file, an expression). The CLI prints its
 * message as one line on stderr and exits with code 2, without a stack trace.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
