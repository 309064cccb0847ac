import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { csvRows, errorLines, spawnCli, STACK_LINE, weightsFiles } from './helpers.js';

/*
 * Crashes, kills and interrupts of `sde train` through the real CLI: a SIGKILL in the middle of
 * a checkpoint save leaves the previous checkpoint loadable, Ctrl-C and SIGTERM save and exit
 * cleanly, a resumed run ends with exactly the weights of an uninterrupted one, and a diverging
 * run stops with one line and keeps its last good checkpoint.
 */

const PRELOAD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'kill-in-save.mjs');
const TRAIN = ['train', '--data', 'p.csv', '--batch', '32'];
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-crash-'));
  fs.writeFileSync(path.join(dir, 'p.csv'), csvRows(300, 2, 7, 1));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[], env?: Record<string, string>) =>
  spawnCli(args, { cwd: dir, env, nodeArgs: env?.SDE_KILL_AT ? ['--import', PRELOAD] : [] });
const killAt = (mode: 'rename' | 'write', file: string, nth: number) => ({ SDE_KILL_AT: JSON.stringify({ mode, file, nth }) });
const config = (run: string) => JSON.parse(fs.readFileSync(path.join(dir, run, 'config.json'), 'utf8'));
/** sha256 of the model, EMA and optimizer state: equal checksums mean bitwise-equal training state. */
const state = (run: string) => Object.fromEntries(Object.entries(weightsFiles(path.join(dir, run))).map(([k, w]) => [k, w.sha256]));

/** Starts a long run and sends `signal` once its first progress line (step 100) is out. */
function interrupted(out: string, signal: NodeJS.Signals) {
  let sent = false;
  return spawnCli([...TRAIN, '--iters', '100000', '--checkpoint-every', '1000', '--out', out, '--json'], {
    cwd: dir,
    onStderr: (stderr, child) => {
      if (!sent && /^step\s+100\//m.test(stderr)) {
        sent = true;
        child.kill(signal);
      }
    },
  });
}

describe('crashes and interrupts of sde train', () => {
  test('SIGKILL in the middle of a checkpoint save keeps the previous one; resuming ends bitwise equal to an uninterrupted run', async () => {
    const full = await cli([...TRAIN, '--checkpoint-every', '10', '--iters', '60', '--out', 'a']);
    expect(full.code).toBe(0);

    // Killed after the step-30 weights files were written and fsynced, before config.json was replaced.
    const k1 = await cli([...TRAIN, '--checkpoint-every', '10', '--iters', '60', '--out', 'b'], killAt('rename', '^config\\.json$', 3));
    expect(k1.signal).toBe('SIGKILL');
    expect(config('b').step).toBe(20);
    expect(fs.readdirSync(path.join(dir, 'b')).filter((f) => f.includes('-00000030-'))).toHaveLength(3);
    const sample = await cli(['sample', '--checkpoint', 'b', '--solver', 'ddim', '--steps', '5', '--n', '10', '--out', 'b.csv']);
    expect(sample.code).toBe(0);

    // Resumed from step 20, then killed halfway through writing the step-40 EMA file.
    const k2 = await cli([...TRAIN, '--checkpoint-every', '10', '--iters', '60', '--out', 'b', '--resume'], killAt('write', '^ema-00000040-', 1));
    expect(k2.signal).toBe('SIGKILL');
    expect(config('b').step).toBe(30);
    expect(fs.readdirSync(path.join(dir, 'b')).some((f) => /^\.ema-00000040-.*\.tmp$/.test(f))).toBe(true);

    const resumed = await cli([...TRAIN, '--checkpoint-every', '10', '--iters', '60', '--out', 'b', '--resume']);
    expect(resumed.code).toBe(0);
    expect(config('b').step).toBe(60);
    expect(state('b')).toEqual(state('a'));
    // Only the final step's files remain: the torn temporary file and orphaned weights are gone.
    expect(fs.readdirSync(path.join(dir, 'b')).sort()).toEqual(fs.readdirSync(path.join(dir, 'a')).sort());
  });

  test('Ctrl-C saves a checkpoint and exits with 0; resuming it gives the weights of an uninterrupted run', async () => {
    const stopped = await interrupted('c', 'SIGINT');
    expect(stopped.code).toBe(0);
    const summary = JSON.parse(stopped.stdout);
    expect(summary.stopped).toBe(true);
    expect(stopped.stderr).toMatch(/SIGINT: stopping after this step and saving a checkpoint/);
    const step: number = summary.step;
    expect(step).toBeGreaterThanOrEqual(100);
    expect(config('c').step).toBe(step);

    const [resumed, full] = await Promise.all([
      cli([...TRAIN, '--checkpoint-every', '10', '--iters', String(step + 20), '--out', 'c', '--resume']),
      cli([...TRAIN, '--checkpoint-every', '10', '--iters', String(step + 20), '--out', 'd']),
    ]);
    expect([resumed.code, full.code]).toEqual([0, 0]);
    expect(state('c')).toEqual(state('d'));
  });

  test('SIGTERM saves a checkpoint and exits with 0', async () => {
    const stopped = await interrupted('e', 'SIGTERM');
    expect(stopped.code).toBe(0);
    const summary = JSON.parse(stopped.stdout);
    expect(summary).toMatchObject({ stopped: true });
    expect(config('e').step).toBe(summary.step);
  });

  test('a diverging run stops with one line and keeps its last good checkpoint', async () => {
    expect((await cli([...TRAIN, '--checkpoint-every', '10', '--iters', '20', '--out', 'f'])).code).toBe(0);
    // Continue it with an absurd learning rate: the loss overflows within a few steps.
    const c = config('f');
    fs.writeFileSync(path.join(dir, 'f', 'config.json'), JSON.stringify({ ...c, training: { ...c.training, lr: 1e30 } }));
    const good = state('f');
    const r = await cli([...TRAIN, '--iters', '200', '--checkpoint-every', '5', '--out', 'f', '--resume']);
    expect(r.code).toBe(2);
    // The changed --checkpoint-every is announced (a resume may change it), then the one error line.
    expect(r.stderr).toMatch(/^--checkpoint-every: 10 -> 5 from step 20 on/m);
    const lines = errorLines(r.stderr).filter((l) => !l.startsWith('--checkpoint-every: 10 -> 5'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^sde: training diverged: the loss is (NaN|-?Infinity) at step \d+; the last good checkpoint \(step 20\) is kept in f; try a smaller --lr/);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(config('f').step).toBe(20);
    expect(state('f')).toEqual(good);
    const sample = await cli(['sample', '--checkpoint', 'f', '--solver', 'ddim', '--steps', '5', '--n', '10', '--out', 'f.csv']);
    expect(sample.code).toBe(0);

    // A fresh run that diverges before its first checkpoint leaves no directory behind.
    const fresh = await cli([...TRAIN, '--iters', '300', '--checkpoint-every', '1000', '--lr', '1e30', '--out', 'g']);
    expect(fresh.code).toBe(2);
    expect(errorLines(fresh.stderr)).toEqual([expect.stringMatching(/training diverged: .*no checkpoint was written/)]);
    expect(fs.existsSync(path.join(dir, 'g'))).toBe(false);
  });
});
