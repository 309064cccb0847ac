import fs from 'node:fs';
import path from 'node:path';
import { syncDir } from './atomic.js';

/** A file written piece by piece that appears at its name only when whole (see openStreamFile). */
export interface StreamFile {
  /** The file the writer will create or replace. */
  readonly target: string;
  /** Appends text or bytes to the temporary file. */
  write(data: string | Uint8Array): Promise<void>;
  /** Flushes, fsyncs and renames the temporary file over the target (then fsyncs the directory). */
  commit(): Promise<void>;
  /** Closes and removes the temporary file; the target is left as it was. Safe to call twice or after commit. */
  abort(): Promise<void>;
}

/** Temporary files of open stream files, removed if the process is interrupted. */
const open = new Set<string>();
let handlersInstalled = false;

/** On SIGINT/SIGTERM, removes the temporaries of unfinished stream files, then dies of the signal as before. */
function installSignalCleanup(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      // Only act when no one else handles the signal (the default would have killed the process).
      if (process.listenerCount(signal) > 1) return;
      for (const temp of open) fs.rmSync(temp, { force: true });
      open.clear();
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    });
  }
}

/**
 * Opens a streaming atomic writer for `target`: the data go to `.NAME.PID.tmp` beside it (same
 * directory, so the rename is atomic); commit() fsyncs and renames it over the target, abort()
 * removes it. Readers see the old file or the whole new one, never a part; a failed write
 * removes the temporary file before the error is thrown. Errors are the file system's (errno).
 */
export async function openStreamFile(target: string): Promise<StreamFile> {
  const dir = path.dirname(path.resolve(target));
  const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.tmp`);
  const handle = await fs.promises.open(temp, 'w');
  open.add(temp);
  installSignalCleanup();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close().catch(() => undefined);
  };
  const abort = async () => {
    await close();
    fs.rmSync(temp, { force: true });
    open.delete(temp);
  };
  const guarded = async (work: () => Promise<void>) => {
    try {
      await work();
    } catch (e) {
      await abort();
      throw e;
    }
  };
  return {
    target,
    write: (data) =>
      guarded(async () => {
        if (closed) throw new Error(`stream file ${target}: write after close`);
        // appendFile writes all of the data (write() may write only a part).
        await handle.appendFile(data);
      }),
    commit: () =>
      guarded(async () => {
        await handle.sync();
        closed = true;
        await handle.close();
        fs.renameSync(temp, target);
        open.delete(temp);
        syncDir(dir);
      }),
    abort,
  };
}
