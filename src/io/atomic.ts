import fs from 'node:fs';
import path from 'node:path';

/** Temporary files of writeFileAtomic: `.NAME.PID.tmp` beside the target. */
const TEMP_NAME = /^\..+\.\d+\.tmp$/;

/**
 * Writes a file so that readers see either the old content or the whole new one, even after a
 * crash or kill -9: write to a temporary name in the same directory, fsync, rename over the
 * target, fsync the directory.
 */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  const dir = path.dirname(path.resolve(target));
  const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.tmp`);
  const fd = fs.openSync(temp, 'w');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(temp, target);
  syncDir(dir);
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

/** Removes the temporary files a killed writeFileAtomic left in dir. */
export function removeStaleTemps(dir: string): void {
  for (const f of fs.readdirSync(dir)) if (TEMP_NAME.test(f)) fs.rmSync(path.join(dir, f), { force: true });
}
