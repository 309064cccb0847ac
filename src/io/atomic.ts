import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

/** Temporary files of writeFileAtomic: `.NAME.PID.tmp` beside the target (group 1: NAME, group 2: PID). */
const TEMP_NAME = /^\.(.+)\.(\d+)\.tmp$/;

/**
 * Writes a file so that readers see either the old content or the whole new one, even after a
 * crash or kill -9: write to a temporary name in the same directory, fsync, rename over the
 * target, fsync the directory. A failed write (e.g. a full disk) removes its temporary file and
 * leaves the target as it was; temporary files of the same target left by dead processes go.
 */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  const dir = path.dirname(path.resolve(target));
  const base = path.basename(target);
  const temp = path.join(dir, `.${base}.${process.pid}.tmp`);
  writeSynced(fs.openSync(temp, 'w'), temp, data);
  try {
    fs.renameSync(temp, target);
  } catch (e) {
    fs.rmSync(temp, { force: true });
    throw e;
  }
  syncDir(dir);
  removeStaleTemps(dir, base);
}

/** fsyncs a directory so that a rename in it is durable (best effort: some file systems refuse). */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // The rename is still atomic; only its durability across a power cut is not guaranteed.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * True when a process with this pid exists on this machine (signal 0 probes without sending;
 * EPERM means it exists but belongs to another user).
 */
export function processAlive(pid: number): boolean {
  if (!(Number.isInteger(pid) && pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files that killed writers left in dir (only those of `target` when
 * given): files `.NAME.PID.tmp` whose process is gone. This process's own are stale too, since
 * writeFileAtomic is synchronous: none of them is being written while this runs. Best effort.
 */
export function removeStaleTemps(dir: string, target?: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const f of names) {
    const m = TEMP_NAME.exec(f);
    if (!m || (target !== undefined && m[1] !== target)) continue;
    const pid = Number(m[2]);
    if (pid !== process.pid && processAlive(pid)) continue;
    try {
      fs.rmSync(path.join(dir, f), { force: true });
    } catch {
      // Another process removed it, or the directory is read-only: harmless.
    }
  }
}

/** Error codes of a write that failed because of the machine, not of the program. */
const ENVIRONMENT: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
  EFBIG: 'file too large',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
};

/**
 * The error to report for a failed write of file: a UsageError naming the file and the cause for
 * a full disk, a quota, permissions or a read-only file system ("FILE: cannot write: no space
 * left on device (ENOSPC)"); any other error unchanged (a bug).
 */
export function writeFailure(file: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (error instanceof UsageError || code === undefined || !(code in ENVIRONMENT)) return error as Error;
  return new UsageError(`${file}: cannot write: ${ENVIRONMENT[code]} (${code})`);
}

/**
 * Writes `data` to the open file `fd` (named `file`) and flushes it to the disk, then closes it;
 * on failure closes it, removes the file and rethrows, so no partial file stays.
 */
export function writeSynced(fd: number, file: string, data: string | NodeJS.ArrayBufferView): void {
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw e;
  }
  fs.closeSync(fd);
}
