import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../src/errors.js';

/**
 * Output paths, checked before any long work: the file's directory (or the output directory's
 * parent) exists, is a directory and is writable, tested for real by creating and removing a
 * probe file (so a read-only mount, a path below a regular file, a full disk and missing
 * permissions are caught up front, even for root). A write that still fails later is mapped by
 * outputError / writingOutput to a UsageError naming the flag and the path (exit 2).
 * Every `flag` parameter is a flag name without dashes ('out' is shown as --out), or a
 * positional argument in angle brackets ('<dir>', shown as is).
 */

/** How a flag is named in messages: `--out` for 'out'; a positional argument given as '<dir>' stays '<dir>'. */
function shownFlag(flag: string): string {
  return flag.startsWith('<') ? flag : `--${flag}`;
}

/** What an errno code means, in a few words, for the codes a write can meet. */
const REASONS: Record<string, string> = {
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a component of the path is not a directory',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'is a directory',
  ENOENT: 'no such file or directory',
  ENAMETOOLONG: 'name too long',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  EEXIST: 'already exists',
};

/** Errno codes of writes that are the user's environment (a path, a mount, a disk), not a bug. */
const OUTPUT_CODES = new Set(Object.keys(REASONS));

/** The errno code of an error, if it has one. */
function codeOf(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The UsageError for a failed write of `file` (flag without dashes), e.g.
 * `--out: cannot write 'ro/x.csv': read-only file system (EROFS)`; other errors are returned
 * unchanged (an internal error).
 */
export function outputError(flag: string, file: string, error: unknown): unknown {
  if (error instanceof UsageError) return error;
  const code = codeOf(error);
  if (code === undefined || !OUTPUT_CODES.has(code)) return error;
  return new UsageError(`${shownFlag(flag)}: cannot write '${file}': ${REASONS[code]} (${code})`);
}

/** Runs a write of `file`, mapping an errno failure to a UsageError naming --flag and the file (see outputError). */
export function writingOutput<T>(flag: string, file: string, write: () => T): T {
  try {
    return write();
  } catch (e) {
    throw outputError(flag, file, e);
  }
}

/** The async form of writingOutput. */
export async function writingOutputAsync<T>(flag: string, file: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    throw outputError(flag, file, e);
  }
}

/** Creates and removes a probe file in dir; a failure is a UsageError naming --flag and `shown`. */
function probeWritable(flag: string, dir: string, shown: string): void {
  const probe = path.join(dir, `.sde-probe.${process.pid}.tmp`);
  try {
    const fd = fs.openSync(probe, 'w');
    try {
      // One byte, so that a full disk shows now rather than after the work.
      fs.writeSync(fd, 'x');
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    fs.rmSync(probe, { force: true });
    const code = codeOf(e);
    throw code && OUTPUT_CODES.has(code) ? new UsageError(`${shownFlag(flag)}: cannot write to directory '${shown}': ${REASONS[code]} (${code})`) : e;
  }
  fs.rmSync(probe, { force: true });
}

/** Checks that `dir` (shown as `shown`) is an existing directory; the errors name --flag. */
function checkIsDirectory(flag: string, dir: string, shown: string, missing: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (e) {
    const code = codeOf(e);
    if (code === 'ENOENT') throw new UsageError(missing);
    if (code === 'ENOTDIR') throw new UsageError(`${shownFlag(flag)}: '${shown}' is not a directory (a file is on its path)`);
    throw outputError(flag, shown, e);
  }
  if (!stat.isDirectory()) throw new UsageError(`${shownFlag(flag)}: '${shown}' is not a directory`);
}

/**
 * Checks an output file named by --flag (without dashes) before any work: an extension from
 * `extensions` (lower-case, with the dot; case-insensitive), a name that does not end in a path
 * separator, an existing writable directory, and no directory at the path itself. Returns the file.
 */
export function checkOutputFile(flag: string, file: string, extensions: readonly string[]): string {
  if (file.trim() === '') throw new UsageError(`${shownFlag(flag)}: expected a file name, got an empty string`);
  if (/[/\\]$/.test(file)) throw new UsageError(`${shownFlag(flag)}: '${file}' ends with a path separator; expected a file name`);
  const ext = path.extname(file).toLowerCase();
  if (!extensions.includes(ext)) throw new UsageError(`${shownFlag(flag)}: expected a ${extensions.join(' or ')} file name, got '${file}'`);
  const dir = path.dirname(path.resolve(file));
  const shown = path.dirname(file);
  checkIsDirectory(flag, dir, shown, `${shownFlag(flag)}: directory '${shown}' does not exist`);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new UsageError(`${shownFlag(flag)}: '${file}' is a directory`);
  probeWritable(flag, dir, shown);
  return file;
}

/**
 * Checks an output directory named by --flag (without dashes) before any work: if it exists it
 * must be a writable directory; if not, its parent must be an existing writable directory (the
 * command creates `dir` itself, later). Does not create anything. Returns the directory.
 */
export function checkOutputDir(flag: string, dir: string): string {
  if (dir.trim() === '') throw new UsageError(`${shownFlag(flag)}: expected a directory name, got an empty string`);
  const resolved = path.resolve(dir);
  let exists = true;
  try {
    fs.statSync(resolved);
  } catch (e) {
    const code = codeOf(e);
    if (code === 'ENOTDIR') throw new UsageError(`${shownFlag(flag)}: '${dir}' is not a directory (a file is on its path)`);
    if (code !== 'ENOENT') throw outputError(flag, dir, e);
    exists = false;
  }
  if (exists) {
    if (!fs.statSync(resolved).isDirectory()) throw new UsageError(`${shownFlag(flag)}: '${dir}' exists and is not a directory`);
    probeWritable(flag, resolved, dir);
    return dir;
  }
  const parent = path.dirname(resolved);
  const shownParent = path.dirname(dir.replace(/[/\\]+$/, '')) || '.';
  checkIsDirectory(flag, parent, shownParent, `${shownFlag(flag)}: parent directory of '${dir}' does not exist`);
  probeWritable(flag, parent, shownParent);
  return dir;
}
