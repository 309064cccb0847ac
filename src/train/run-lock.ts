import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { processAlive, writeSynced } from '../io/atomic.js';

/*
 * One writer per run directory: `sde train` holds DIR/.lock while it runs. The file is created
 * with O_EXCL (so two processes cannot both create it) and holds JSON {pid, host, started}. A
 * lock whose process is gone (same host, no such pid) is stale and taken over: renamed to a
 * name of this process, checked to be the stale one, removed, and the lock created again. The
 * lock is released when training ends, and by an 'exit' handler on process.exit (the CLI's
 * error path); a process killed with SIGKILL leaves a stale lock, which the next run takes over.
 * Readers (sde sample, compare, nll) take no lock: they retry a read that raced with a save.
 */

/** Name of the lock file inside a run directory. */
export const LOCK_FILE = '.lock';

/** What a lock file holds. */
export interface LockInfo {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  started: string;
}

/** A held lock; release() is idempotent. */
export interface RunLock {
  file: string;
  info: LockInfo;
  release(): void;
}

const held = new Map<string, string>();
let exitHook = false;

function readLock(file: string): LockInfo | 'missing' | 'garbage' {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw e;
  }
  try {
    const v = JSON.parse(text) as LockInfo;
    if (Number.isInteger(v?.pid) && typeof v.host === 'string') return v;
  } catch {
    // fall through
  }
  return 'garbage';
}

/** True when the lock's process is known to be gone (same host, no such process; or this very pid without holding it). */
function isStale(info: LockInfo, file: string): boolean {
  if (info.host !== os.hostname()) return false;
  if (info.pid === process.pid) return !held.has(file);
  return !processAlive(info.pid);
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Takes the lock of run directory dir (which must exist). A live holder is a UsageError naming
 * `flag`, the directory and the holder's pid, host and start time; a stale lock is taken over.
 */
export function acquireRunLock(dir: string, flag = '--out'): RunLock {
  const file = path.join(dir, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
  const text = JSON.stringify(info) + '\n';
  for (let attempt = 0; attempt < 20; attempt++) {
    let fd: number | undefined;
    try {
      fd = fs.openSync(file, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (fd !== undefined) {
      writeSynced(fd, file, text);
      held.set(file, text);
      if (!exitHook) {
        exitHook = true;
        process.on('exit', releaseAllRunLocks);
      }
      return { file, info, release: () => releaseLock(file) };
    }
    let holder = readLock(file);
    if (holder === 'missing') continue; // released meanwhile: try again
    if (holder === 'garbage') {
      // Created but not yet written by its holder, or left half-written by a crash: look again shortly.
      sleep(100);
      holder = readLock(file);
      if (holder === 'missing') continue;
    }
    if (holder !== 'garbage' && !isStale(holder, file)) throw inUse(dir, flag, file, holder);
    takeOver(file, holder);
  }
  throw new UsageError(`${flag}: could not take the lock ${file} (other processes keep taking it)`);
}

function inUse(dir: string, flag: string, file: string, holder: LockInfo): UsageError {
  const where = holder.host === os.hostname() ? `pid ${holder.pid}` : `pid ${holder.pid} on host ${holder.host}`;
  const hint = holder.host === os.hostname() ? 'wait for it to finish or choose another directory' : `remove ${file} if that run is gone`;
  return new UsageError(`${flag}: '${dir}' is in use by another sde train (${where}, since ${holder.started}); ${hint}`);
}

/** Throws the UsageError acquireRunLock would when dir's lock is held by a live process (checks only; takes nothing). */
export function checkRunLock(dir: string, flag = '--out'): void {
  const file = path.join(dir, LOCK_FILE);
  const holder = readLock(file);
  if (typeof holder === 'object' && !isStale(holder, file)) throw inUse(dir, flag, file, holder);
}

/** Removes a stale lock unless someone replaced it meanwhile (then it is put back). */
function takeOver(file: string, stale: LockInfo | 'garbage'): void {
  const aside = `${file}.${process.pid}.stale`;
  try {
    fs.renameSync(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // another process took it over first
    throw e;
  }
  const moved = readLock(aside);
  const same = stale === 'garbage' ? moved === 'garbage' : typeof moved === 'object' && moved.pid === stale.pid && moved.started === stale.started && moved.host === stale.host;
  if (!same) {
    // A live lock taken meanwhile by another process: put it back (fails only if yet another exists).
    try {
      fs.linkSync(aside, file);
    } catch {
      // keep going: the next attempt sees whichever lock is there
    }
  }
  fs.rmSync(aside, { force: true });
}

function releaseLock(file: string): void {
  const mine = held.get(file);
  if (mine === undefined) return;
  held.delete(file);
  try {
    if (fs.readFileSync(file, 'utf8') === mine) fs.rmSync(file, { force: true });
  } catch {
    // Already gone (e.g. the directory was removed): nothing to release.
  }
}

/** Releases every lock this process holds (synchronous; safe in an 'exit' handler). */
export function releaseAllRunLocks(): void {
  for (const file of [...held.keys()]) releaseLock(file);
}
