import fs from 'node:fs';
import { UsageError } from '../errors.js';
import { isCheckpoint } from '../models/checkpoint.js';
import { checkRunLock, LOCK_FILE } from './run-lock.js';

/** Files a run leaves before its first checkpoint: log.jsonl, its lock, temporary files, weights files of an uncommitted save. */
function isRunLeftover(name: string): boolean {
  return name === 'log.jsonl' || name === LOCK_FILE || /^\.lock\.\d+\.stale$/.test(name) || /^\..+\.\d+\.tmp$/.test(name) || /^(model|ema|optimizer)-\d+(-[0-9a-f]+)?\.bin$/.test(name);
}

/** True when dir is a directory holding only what a run left before its first checkpoint (at least its log). */
function onlyRunLeftovers(dir: string): boolean {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return false;
  const names = fs.readdirSync(dir);
  return names.includes('log.jsonl') && names.every(isRunLeftover);
}

/**
 * Whether a run on `dir` continues a checkpoint: --resume on a directory a run left before its
 * first checkpoint starts again from step 0 (with a note); on one without a checkpoint or its
 * leftovers it is a UsageError.
 */
export function resumesCheckpoint(dir: string, resume: boolean, note: (line: string) => void): boolean {
  if (!resume || isCheckpoint(dir)) return resume;
  if (!onlyRunLeftovers(dir)) throw new UsageError(`--resume: '${dir}' holds no checkpoint to continue`);
  note(`--resume: '${dir}' has no checkpoint yet (its run stopped before the first one); starting from step 0`);
  return false;
}

/** A fresh run's directory is new, empty or a killed run's leftovers; a run writing it is what to report. */
export function checkFreshRunDir(dir: string): void {
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0 && !onlyRunLeftovers(dir)) {
    checkRunLock(dir);
    throw new UsageError(`--out: '${dir}' exists and is not empty; pass --resume to continue it or choose another directory`);
  }
}
