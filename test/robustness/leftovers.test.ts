import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { csvRows, spawnCli, weightsFiles } from './helpers.js';

/*
 * What killed runs leave behind (issue 12, item 5), through the real CLI: a directory killed
 * before its first checkpoint is accepted by a new run and by --resume; the first log window
 * after a resume averages the same steps as an uninterrupted run; temporary files of dead
 * processes are removed, those of live ones are not.
 */

const PRELOAD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'kill-in-save.mjs');
const TRAIN = ['train', '--data', 'p.csv', '--batch', '32'];
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-leftovers-'));
  fs.writeFileSync(path.join(dir, 'p.csv'), csvRows(300, 2, 7, 1));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[], kill?: { mode: string; file: string; nth: number }) =>
  spawnCli(args, { cwd: dir, ...(kill ? { nodeArgs: ['--import', PRELOAD], env: { SDE_KILL_AT: JSON.stringify(kill) } } : {}) });
const state = (run: string) => Object.fromEntries(Object.entries(weightsFiles(path.join(dir, run))).map(([k, w]) => [k, w.sha256]));
const log = (run: string) => fs.readFileSync(path.join(dir, run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('leftovers of killed runs', () => {
  test('killed before its first checkpoint: a new run and --resume both accept the directory', async () => {
    const args = [...TRAIN, '--iters', '30', '--checkpoint-every', '10'];
    const full = await cli([...args, '--out', 'full']);
    expect(full.code).toBe(0);
    for (const run of ['k1', 'k2']) {
      // SIGKILL just before the first config.json is committed: log.jsonl, the lock, uncommitted weights.
      const k = await cli([...args, '--out', run], { mode: 'rename', file: '^config\\.json$', nth: 1 });
      expect(k.signal).toBe('SIGKILL');
      const names = fs.readdirSync(path.join(dir, run));
      expect(names).toContain('log.jsonl');
      expect(names).toContain('.lock');
      expect(names).not.toContain('config.json');
    }
    const fresh = await cli([...args, '--out', 'k1']);
    expect(fresh.code).toBe(0);
    const resumed = await cli([...args, '--out', 'k2', '--resume']);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/--resume: 'k2' has no checkpoint yet \(its run stopped before the first one\); starting from step 0/);
    expect(state('k1')).toEqual(state('full'));
    expect(state('k2')).toEqual(state('full'));
    expect(fs.readdirSync(path.join(dir, 'k2')).sort()).toEqual(fs.readdirSync(path.join(dir, 'full')).sort());
  });

  test('the first log line after a resume averages the same steps as an uninterrupted run', async () => {
    // Checkpoints at 30, 60, 90, 120, ...; logs at 100, 200. Killed before committing step 120:
    // the checkpoint is at 90, inside the window 1..100.
    const args = [...TRAIN, '--iters', '200', '--checkpoint-every', '30'];
    const [full, killed] = await Promise.all([cli([...args, '--out', 'la']), cli([...args, '--out', 'lb'], { mode: 'rename', file: '^config\\.json$', nth: 4 })]);
    expect(full.code).toBe(0);
    expect(killed.signal).toBe('SIGKILL');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'lb', 'config.json'), 'utf8')).step).toBe(90);
    const resumed = await cli([...args, '--out', 'lb', '--resume']);
    expect(resumed.code).toBe(0);
    const pick = (e: { step: number; loss: number; gradNorm: number; lr: number }) => ({ step: e.step, loss: e.loss, gradNorm: e.gradNorm, lr: e.lr });
    expect(log('lb').map(pick)).toEqual(log('la').map(pick));
    expect(log('la').map((e) => e.step)).toEqual([100, 200]);
  });

  test('temporary files of dead processes are removed, those of live ones kept', async () => {
    expect((await cli([...TRAIN, '--iters', '20', '--checkpoint-every', '10', '--out', 't'])).code).toBe(0);
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => dead.on('exit', r));
    const stale = `.config.json.${dead.pid}.tmp`;
    const live = `.samples.csv.${process.pid}.tmp`; // this test process is alive
    for (const f of [stale, live]) fs.writeFileSync(path.join(dir, 't', f), 'partial');
    const r = await cli([...TRAIN, '--iters', '30', '--checkpoint-every', '10', '--out', 't', '--resume']);
    expect(r.code).toBe(0);
    const names = fs.readdirSync(path.join(dir, 't'));
    expect(names).not.toContain(stale);
    expect(names).toContain(live);
  });
});
